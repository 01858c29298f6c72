/**
 * What a person does and sees in the console, by role and accessible name
 * (the DOM contract), never by CSS class.
 */
import { AxeBuilder } from '@axe-core/playwright';
import { expect, type Page, type TestInfo } from '@playwright/test';
import type { Person } from './api.js';

export async function signIn(page: Page, baseUrl: string, person: Pick<Person, 'email' | 'password' | 'name'>): Promise<void> {
  await page.goto(`${baseUrl}/sign-in`);
  await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();
  await page.getByRole('textbox', { name: 'Email' }).fill(person.email);
  await page.getByRole('textbox', { name: 'Password' }).fill(person.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expectSignedIn(page, person.name);
}

export async function expectSignedIn(page: Page, name: string): Promise<void> {
  await expect(page.getByRole('navigation', { name: 'Main' })).toBeVisible();
  await expect(page.getByRole('button', { name: 'Sign out' })).toBeVisible();
  await expect(page.getByText(name, { exact: true }).first()).toBeVisible();
}

export function conversationList(page: Page) {
  return page.getByRole('list', { name: 'Conversations' });
}

export function card(page: Page, contactName: string) {
  return conversationList(page).getByRole('listitem').filter({ has: page.getByRole('link', { name: contactName }) });
}

export function reply(page: Page) {
  return page.getByRole('region', { name: 'Reply' });
}

export function messageBox(page: Page) {
  return reply(page).getByRole('textbox', { name: 'Message' });
}

export function messages(page: Page) {
  return page.getByRole('log', { name: 'Messages' });
}

export async function openConversation(page: Page, baseUrl: string, conversationId: string): Promise<void> {
  await page.goto(`${baseUrl}/conversations/${conversationId}`);
  await expect(page.getByRole('region', { name: 'Conversation' })).toBeVisible();
}

/** The composer of someone answering. */
export async function expectActive(page: Page): Promise<void> {
  await expect(messageBox(page)).toBeVisible();
  await expect(reply(page).getByRole('button', { name: 'Send' })).toBeVisible();
  await expect(reply(page).getByText(/Answered by/)).toHaveCount(0);
}

/** The composer of an observer while `activeName` answers: the text and no input at all. */
export async function expectAnsweredBy(page: Page, activeName: string, timeout?: number): Promise<void> {
  await expect(reply(page).getByText(`Answered by ${activeName}`)).toBeVisible({ timeout });
  await expect(reply(page).getByRole('textbox')).toHaveCount(0);
  await expect(reply(page).getByRole('button', { name: 'Start chatting' })).toHaveCount(0);
}

/** The composer when nobody answers. */
export async function expectStartChatting(page: Page): Promise<void> {
  await expect(reply(page).getByRole('button', { name: 'Start chatting' })).toBeVisible();
  await expect(reply(page).getByRole('textbox')).toHaveCount(0);
}

/**
 * Watches the page from now on for any moment an input named "Message" (or any
 * textbox inside the "Reply" region) exists, between assertions too: a
 * MutationObserver records it in the page. `sawInput()` tells whether it ever did.
 */
export async function watchForInput(page: Page): Promise<{ sawInput: () => Promise<boolean> }> {
  await page.evaluate(() => {
    const w = window as any;
    w.__sawMessageInput = false;
    const nameOf = (el: Element): string => {
      const labelled = el.getAttribute('aria-labelledby');
      if (el.getAttribute('aria-label')) return el.getAttribute('aria-label')!;
      if (labelled) return labelled.split(/\s+/).map((id) => document.getElementById(id)?.textContent ?? '').join(' ');
      const labels = (el as HTMLInputElement).labels;
      if (labels && labels.length) return labels[0].textContent ?? '';
      return el.getAttribute('placeholder') ?? '';
    };
    const check = () => {
      const inputs = document.querySelectorAll('textarea, input:not([type]), input[type=text], [contenteditable=""], [contenteditable=true], [role=textbox]');
      for (const el of inputs) if (nameOf(el).trim() === 'Message') w.__sawMessageInput = true;
    };
    check();
    w.__inputWatch?.disconnect();
    w.__inputWatch = new MutationObserver(check);
    w.__inputWatch.observe(document, { subtree: true, childList: true, attributes: true });
  });
  return { sawInput: () => page.evaluate(() => Boolean((window as any).__sawMessageInput)) };
}

/** axe-core on the page as it is: no serious or critical violations. */
export async function expectAccessible(page: Page, what: string): Promise<void> {
  const result = await new AxeBuilder({ page }).analyze();
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(bad.map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`), `accessibility of ${what}`).toEqual([]);
}

/** A full-page screenshot kept with the test's artifacts. */
export async function snapshot(page: Page, testInfo: TestInfo, name: string): Promise<void> {
  const path = testInfo.outputPath(`${name}.png`);
  await page.screenshot({ path, fullPage: true });
  await testInfo.attach(name, { path, contentType: 'image/png' });
}
