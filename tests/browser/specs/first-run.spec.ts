/** First run: an empty database, the setup link from the server's output, and the console signed in. */
import { expectAccessible, expectSignedIn, snapshot } from '../harness/console.js';
import { expect, test } from '../harness/fixtures.js';

test('the setup link creates the account and signs its owner in, once', async ({ server, page }, testInfo) => {
  const link = await server.setupLink();
  expect(new URL(link).host).toBe(`127.0.0.1:${server.port}`);
  await page.goto(link);
  await expect(page.getByRole('heading', { name: 'Create your account' })).toBeVisible();
  await expectAccessible(page, 'the setup page');
  await snapshot(page, testInfo, 'setup');
  await page.getByRole('textbox', { name: 'Account name' }).fill('Acme');
  await page.getByRole('textbox', { name: 'Your name' }).fill('Olive Owner');
  await page.getByRole('textbox', { name: 'Email' }).fill('owner@acme.test');
  await page.getByRole('textbox', { name: 'Password' }).fill('a long enough password');
  await page.getByRole('button', { name: 'Create account' }).click();
  await expectSignedIn(page, 'Olive Owner');
  await expect(page).not.toHaveURL(/\/setup/);
  await expect(page.getByRole('link', { name: 'Administration' })).toBeVisible();
  await snapshot(page, testInfo, 'after-setup');

  // The link is spent.
  await page.goto(link);
  await expect(page.getByText('This server is already set up')).toBeVisible();
  await expect(page.getByRole('link', { name: 'Sign in' })).toBeVisible();
});
