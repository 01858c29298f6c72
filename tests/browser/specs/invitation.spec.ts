/** An invitation made by the owner over REST, accepted in the browser from the link in the mail. */
import { createTenant, invitationLinkFromMail, login, rest, rootGroup } from '../harness/api.js';
import { expectAccessible, expectSignedIn, snapshot } from '../harness/console.js';
import { expect, test } from '../harness/fixtures.js';

test('the link in the invitation mail makes a user, signed in; a second use is refused', async ({ server, page, newPage }, testInfo) => {
  const tenant = await createTenant(server, 'Acme');
  const owner = await login(server, tenant.owner);
  const root = await rootGroup(server, tenant);
  await rest(server, owner, 'POST', '/v1/invitations', { emails: ['carol@acme.test'], grants: [{ role: 'operator', group_id: root }] });

  const link = await invitationLinkFromMail(server, 'carol@acme.test');
  expect(link.startsWith(`${server.url}/accept?token=`)).toBe(true);
  await page.goto(link);
  await expect(page.getByRole('heading', { name: 'Join Acme' })).toBeVisible();
  await expectAccessible(page, 'the accept page');
  await snapshot(page, testInfo, 'accept');
  await page.getByRole('textbox', { name: 'Your name' }).fill('Carol Chen');
  await page.getByRole('textbox', { name: 'Password' }).fill('a long enough password');
  await page.getByRole('button', { name: 'Accept invitation' }).click();
  await expectSignedIn(page, 'Carol Chen');
  await expect(page).not.toHaveURL(/\/accept/);
  await snapshot(page, testInfo, 'after-accept');

  // The user exists with the invitation's grants; the link is spent.
  const carol = await login(server, { email: 'carol@acme.test', password: 'a long enough password' });
  const me = await rest(server, carol, 'GET', '/v1/me');
  expect(me.grants).toEqual([{ role: 'operator', group_id: root }]);
  const stranger = await newPage();
  await stranger.goto(link);
  await expect(stranger.getByRole('alert')).toBeVisible();
  await expect(stranger.getByRole('button', { name: 'Accept invitation' })).toHaveCount(0);
});
