/**
 * Two-factor sign-in in the browser: an account that requires it sends a user without it
 * through the forced set-up (secret, code, backup codes once), and the next sign-in asks
 * for a code after the password, where a wrong code is refused and a backup code works.
 */
import { createTenant, createUser, login, rest } from '../harness/api.js';
import { expectAccessible, expectSignedIn, snapshot } from '../harness/console.js';
import { expect, test } from '../harness/fixtures.js';
import { totp } from '../harness/totp.js';

test('a required second factor: forced set-up, then the code step with a backup code', async ({ server, page }, testInfo) => {
  const tenant = await createTenant(server);
  const ann = await createUser(server, tenant, 'Ann Archer');
  const owner = await login(server, tenant.owner);
  await rest(server, owner, 'PUT', '/v1/account/settings', { require_2fa: true });

  await page.goto(`${server.url}/sign-in`);
  await page.getByRole('textbox', { name: 'Email' }).fill(ann.email);
  await page.getByRole('textbox', { name: 'Password' }).fill(ann.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('heading', { name: 'Set up two-factor authentication' })).toBeVisible();
  const secret = page.getByTestId('totp-secret');
  await expect(secret).toHaveText(/^[A-Z2-7]{16,}=*$/);
  await expectAccessible(page, 'the two-factor set-up');
  await snapshot(page, testInfo, 'two-factor-setup');

  await page.getByRole('textbox', { name: 'Authentication code' }).fill(totp((await secret.textContent())!));
  await page.getByRole('button', { name: 'Turn on' }).click();
  const codes = page.getByRole('list', { name: 'Backup codes' }).getByRole('listitem');
  await expect(codes.first()).toBeVisible();
  const backup = (await codes.first().textContent())!.trim();
  await page.getByRole('button', { name: 'Continue' }).click();
  await expectSignedIn(page, ann.name);

  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();
  await page.getByRole('textbox', { name: 'Email' }).fill(ann.email);
  await page.getByRole('textbox', { name: 'Password' }).fill(ann.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  const code = page.getByRole('textbox', { name: 'Authentication code' });
  await expect(code).toBeVisible();
  await expectAccessible(page, 'the code step');
  await snapshot(page, testInfo, 'sign-in-code');

  await code.fill('000000');
  await page.getByRole('button', { name: 'Verify' }).click();
  await expect(page.getByRole('alert')).toContainText('That code did not work');
  await code.fill(backup);
  await page.getByRole('button', { name: 'Verify' }).click();
  await expectSignedIn(page, ann.name);
});
