/**
 * Browsers on other origins: a listed origin signs in with fetch (credentials)
 * and opens the WebSocket with a ticket; an unlisted one cannot read a thing;
 * a cross-origin form or text/plain fetch riding the session cookie is refused (CSRF).
 */
import type { Page } from '@playwright/test';
import { createInbox, createTenant, inbound, login, rest } from '../harness/api.js';
import { test as base, expect } from '../harness/fixtures.js';
import { OtherOrigin } from '../harness/origin.js';

/** The allowed origin is fixed before the server starts, so its port is chosen first. */
const test = base.extend<{ allowed: OtherOrigin; unlisted: OtherOrigin }>({
  allowed: async ({}, use) => {
    const origin = await OtherOrigin.start();
    await use(origin);
    await origin.close();
  },
  unlisted: async ({}, use) => {
    const origin = await OtherOrigin.start();
    await use(origin);
    await origin.close();
  },
  serverEnv: async ({ allowed }, use) => use({ SWITCHBOARD_ALLOWED_ORIGINS: allowed.origin }),
});

/** In the page: sign in with fetch, take a ticket with the cookie, open the WebSocket, wait for `welcome`. */
async function signInAndConnect(page: Page, serverUrl: string, email: string, password: string): Promise<any> {
  return page.evaluate(async ({ serverUrl, email, password }) => {
    try {
      const login = await fetch(`${serverUrl}/v1/auth/login`, {
        method: 'POST', credentials: 'include',
        headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password }),
      });
      if (!login.ok) return { step: 'login', status: login.status };
      const ticketAnswer = await fetch(`${serverUrl}/v1/ws/ticket`, {
        method: 'POST', credentials: 'include',
        headers: { 'content-type': 'application/json', 'x-requested-with': 'browser-test' }, body: '{}',
      });
      if (!ticketAnswer.ok) return { step: 'ticket', status: ticketAnswer.status, body: await ticketAnswer.text() };
      const { ticket } = await ticketAnswer.json();
      const ws = new WebSocket(`${serverUrl.replace(/^http/, 'ws')}/v1/ws?ticket=${encodeURIComponent(ticket)}`);
      const first = await new Promise<any>((done) => {
        ws.onmessage = (event) => done(JSON.parse(event.data));
        ws.onclose = (event) => done({ closed: event.code });
        setTimeout(() => done({ timeout: true }), 10_000);
      });
      ws.close();
      return { step: 'ws', first };
    } catch (error) {
      return { step: 'threw', error: String(error) };
    }
  }, { serverUrl, email, password });
}

test('a listed origin signs in with fetch and connects the WebSocket with a ticket', async ({ server, allowed, page }) => {
  const tenant = await createTenant(server);
  await page.goto(allowed.origin);
  const outcome = await signInAndConnect(page, server.url, tenant.owner.email, tenant.owner.password);
  expect(outcome.step, JSON.stringify(outcome)).toBe('ws');
  expect(outcome.first.type, JSON.stringify(outcome)).toBe('welcome');
});

test('an origin not listed cannot sign in with fetch', async ({ server, unlisted, page }) => {
  const tenant = await createTenant(server);
  await page.goto(unlisted.origin);
  const outcome = await signInAndConnect(page, server.url, tenant.owner.email, tenant.owner.password);
  expect(outcome.step, JSON.stringify(outcome)).toBe('threw');
});

test('a cross-origin form post or text/plain fetch with the session cookie changes nothing (CSRF)', async ({ server, unlisted, page }) => {
  const tenant = await createTenant(server);
  const inbox = await createInbox(server, tenant, 'Support');
  const conversation = await inbound(server, inbox, 'Dana Customer', 'Hello?');
  const owner = await login(server, tenant.owner);
  // The browser holds the owner's session cookie for the server (signed in on its own origin).
  const signedIn = await page.context().request.post(`${server.url}/v1/auth/login`, { data: { email: tenant.owner.email, password: tenant.owner.password } });
  expect(signedIn.ok()).toBe(true);
  // The same site (127.0.0.1), so even a SameSite=Strict cookie rides along: only the CSRF guard stops these.
  await page.goto(unlisted.origin);

  const fetched = await page.evaluate(async (url) => {
    await fetch(url, { method: 'POST', mode: 'no-cors', credentials: 'include', headers: { 'content-type': 'text/plain' }, body: '{}' });
    return 'sent';
  }, `${server.url}/v1/conversations/${conversation}/resolve`);
  expect(fetched).toBe('sent');

  const refusal = page.waitForResponse((r) => r.url().endsWith(`/v1/conversations/${conversation}/resolve`));
  await page.evaluate((url) => {
    const form = document.createElement('form');
    form.method = 'POST';
    form.action = url;
    form.enctype = 'text/plain';
    const field = document.createElement('input');
    field.name = '{"x":"';
    field.value = '"}';
    form.appendChild(field);
    document.body.appendChild(form);
    form.submit();
  }, `${server.url}/v1/conversations/${conversation}/resolve`);
  const answer = await refusal;
  expect(answer.status()).toBe(403);
  expect((await answer.json()).error.code).toBe('csrf');

  const after = await rest(server, owner, 'GET', `/v1/conversations/${conversation}`);
  expect(after.status).not.toBe('resolved');
  // The same cookie from the server's own origin, as the console sends it, does resolve: the refusal above was the guard.
  const own = await page.context().request.post(`${server.url}/v1/conversations/${conversation}/resolve`, {
    headers: { 'content-type': 'application/json', 'x-requested-with': 'switchboard-console', origin: server.origin }, data: {},
  });
  expect(own.status(), await own.text()).toBeLessThan(300);
  expect((await rest(server, owner, 'GET', `/v1/conversations/${conversation}`)).status).toBe('resolved');
});
