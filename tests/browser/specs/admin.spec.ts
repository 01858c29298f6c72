/** The Administration pages: one per area, shown by permission, accessible, and doing what they say. */
import { createTenant, createUser } from '../harness/api.js';
import { expectAccessible, signIn, snapshot } from '../harness/console.js';
import { expect, test } from '../harness/fixtures.js';

const PAGES: Array<[string, string]> = [
  ['users', 'Users'], ['roles', 'Roles'], ['groups', 'Groups'], ['teams', 'Teams'], ['inboxes', 'Inboxes'],
  ['account', 'Account'], ['api-keys', 'API keys'], ['webhooks', 'Webhooks'], ['statistics', 'Statistics'], ['audit', 'Audit log'],
];

test('the owner reaches every administration page from its sub-navigation, each one accessible', async ({ server, page }, testInfo) => {
  const tenant = await createTenant(server);
  await signIn(page, server.url, tenant.owner);
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Administration' }).click();
  const nav = page.getByRole('navigation', { name: 'Administration' });
  for (const [slug, title] of PAGES) {
    await nav.getByRole('link', { name: title, exact: true }).click();
    await expect(page.getByRole('heading', { level: 1, name: title })).toBeVisible();
    await expectAccessible(page, `the ${title} page`);
    await snapshot(page, testInfo, `admin-${slug}`);
  }
});

test('an operator sees no administration page', async ({ server, page }) => {
  const tenant = await createTenant(server);
  const ann = await createUser(server, tenant, 'Ann Archer');
  await signIn(page, server.url, ann);
  await expect(page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Administration' })).toHaveCount(0);
  await page.goto(`${server.url}/admin/users`);
  await expect(page.getByRole('alert').filter({ hasText: 'administration page is open' })).toBeVisible();
  await expect(page.getByRole('navigation', { name: 'Administration' }).getByRole('link')).toHaveCount(0);
});

test('the owner invites two people, sees them pending, and revokes one', async ({ server, page }) => {
  const tenant = await createTenant(server);
  await signIn(page, server.url, tenant.owner);
  await page.goto(`${server.url}/admin/users`);
  await page.getByRole('textbox', { name: /Emails/ }).fill('pat@acme.test, quinn@acme.test');
  await page.getByRole('button', { name: 'Send invitations' }).click();
  const pending = page.getByRole('region', { name: 'Pending invitations' });
  await expect(pending.getByRole('listitem')).toHaveCount(2);
  await pending.getByRole('button', { name: 'Revoke pat@acme.test' }).click();
  await expect(pending.getByRole('listitem')).toHaveCount(1);
  await expect(pending.getByRole('button', { name: 'Revoke quinn@acme.test' })).toBeVisible();
  await expect(pending.getByRole('button', { name: 'Revoke pat@acme.test' })).toHaveCount(0);
});

test('a new inbox shows its key once, with a copy button', async ({ server, page }) => {
  const tenant = await createTenant(server);
  await signIn(page, server.url, tenant.owner);
  await page.goto(`${server.url}/admin/inboxes`);
  await page.getByRole('textbox', { name: 'Inbox name' }).fill('Web chat');
  await page.getByRole('button', { name: 'Create inbox' }).click();
  await expect(page.getByRole('rowheader', { name: 'Web chat' })).toBeVisible();
  await expect(page.getByText('it will not be shown again')).toBeVisible();
  await expect(page.getByTestId('secret')).not.toBeEmpty();
  await expect(page.getByRole('button', { name: 'Copy' })).toBeVisible();
  await page.reload();
  await expect(page.getByTestId('secret')).toHaveCount(0);
});

test('a custom role made of catalogue permissions can be created and deleted', async ({ server, page }) => {
  const tenant = await createTenant(server);
  await signIn(page, server.url, tenant.owner);
  await page.goto(`${server.url}/admin/roles`);
  await page.getByRole('textbox', { name: 'Role name' }).fill('Night shift');
  await page.getByRole('checkbox', { name: /^conversations\.view:/ }).check();
  await page.getByRole('button', { name: 'Create role' }).click();
  await expect(page.getByRole('button', { name: 'Delete Night shift' })).toBeVisible();
  page.once('dialog', (dialog) => dialog.accept());
  await page.getByRole('button', { name: 'Delete Night shift' }).click();
  await expect(page.getByRole('button', { name: 'Delete Night shift' })).toHaveCount(0);
});
