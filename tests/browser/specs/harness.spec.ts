/**
 * The harness itself, without a browser: a restart keeps the port and the data,
 * and an invitation's link is read from the mail the server wrote.
 */
import { createTenant, invitationLinkFromMail, login, rest, rootGroup } from '../harness/api.js';
import { expect, test } from '../harness/fixtures.js';

test('a server restarted (SIGTERM, then SIGKILL) keeps its port and its database', async ({ server }) => {
  const tenant = await createTenant(server);
  const token = await login(server, tenant.owner);
  for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
    await server.stop(signal);
    await expect(fetch(`${server.url}/readyz`)).rejects.toThrow();
    await server.run();
    expect((await rest(server, token, 'GET', '/v1/me')).user.email).toBe(tenant.owner.email);
  }
});

test('the invitation link is read from the .eml in the mail directory', async ({ server }) => {
  const tenant = await createTenant(server, 'Acme');
  const owner = await login(server, tenant.owner);
  await rest(server, owner, 'POST', '/v1/invitations', { emails: ['dave@acme.test'], grants: [{ role: 'viewer', group_id: await rootGroup(server, tenant) }] });
  const link = new URL(await invitationLinkFromMail(server, 'dave@acme.test'));
  const lookup = await rest(server, null, 'GET', `/v1/invitations/lookup?token=${encodeURIComponent(link.searchParams.get('token')!)}`);
  expect(lookup).toMatchObject({ email: 'dave@acme.test', account: { name: 'Acme' } });
});
