/**
 * The messenger without a mouse: Tab reaches a conversation with a visible focus ring,
 * Enter opens it (nobody answers, so it opens active), the message box takes the text
 * and Enter sends it; "Release" and "Start chatting" work from the keyboard too.
 */
import { createInbox, createTenant, createUser, inbound } from '../harness/api.js';
import { expectActive, expectStartChatting, messageBox, messages, reply, signIn } from '../harness/console.js';
import { expect, test } from '../harness/fixtures.js';
import type { Locator, Page } from '@playwright/test';

/** Presses Tab until `target` has the focus (at most `limit` times). */
async function tabTo(page: Page, target: Locator, limit = 80): Promise<void> {
  for (let i = 0; i < limit; i++) {
    if (await target.evaluate((el) => el === document.activeElement)) return;
    await page.keyboard.press('Tab');
  }
  throw new Error(`Tab never reached ${target}`);
}

async function expectFocusRing(target: Locator): Promise<void> {
  const outline = await target.evaluate((el) => {
    const style = getComputedStyle(el);
    return { style: style.outlineStyle, width: parseFloat(style.outlineWidth) };
  });
  expect(outline.style, 'a visible focus outline').not.toBe('none');
  expect(outline.width).toBeGreaterThanOrEqual(2);
}

test('a conversation is opened, answered, released and taken again from the keyboard', async ({ server, page }) => {
  const tenant = await createTenant(server);
  const ann = await createUser(server, tenant, 'Ann Archer');
  const inbox = await createInbox(server, tenant, 'Support');
  await inbound(server, inbox, 'Dana Customer', 'Hello from the keyboard test');
  await signIn(page, server.url, ann);

  const link = page.getByRole('list', { name: 'Conversations' }).getByRole('link', { name: 'Dana Customer' });
  await expect(link).toBeVisible();
  await tabTo(page, link);
  await expectFocusRing(link);
  await page.keyboard.press('Enter');
  await expectActive(page);
  await expect(messages(page).getByText('Hello from the keyboard test')).toBeVisible();

  await tabTo(page, messageBox(page));
  await expectFocusRing(messageBox(page));
  await page.keyboard.type('Typed without a mouse');
  await page.keyboard.press('Enter');
  await expect(messages(page).getByText('Typed without a mouse')).toHaveCount(1);

  const release = page.getByRole('button', { name: 'Release' });
  await tabTo(page, release);
  await page.keyboard.press('Enter');
  await expectStartChatting(page);
  const start = reply(page).getByRole('button', { name: 'Start chatting' });
  await tabTo(page, start);
  await expectFocusRing(start);
  await page.keyboard.press('Enter');
  await expectActive(page);
});
