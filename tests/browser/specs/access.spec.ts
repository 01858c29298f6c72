/** What grants decide in the console: the list a group's user sees, and an answerer downgraded live. */
import { createGroup, createInbox, createTenant, createUser, inbound, login, rest, rootGroup } from '../harness/api.js';
import { card, conversationList, expectActive, messageBox, openConversation, signIn } from '../harness/console.js';
import { expect, test } from '../harness/fixtures.js';

test('a user granted at the Sales group sees only that group\'s conversations', async ({ server, newPage }) => {
  const tenant = await createTenant(server);
  const sales = await createGroup(server, tenant, 'Sales');
  const salesInbox = await createInbox(server, tenant, 'Sales line', sales);
  const supportInbox = await createInbox(server, tenant, 'Support');
  const sam = await createUser(server, tenant, 'Sam Seller', 'operator', sales);
  await inbound(server, supportInbox, 'Rita Root', 'a support question');
  await inbound(server, salesInbox, 'Pia Prospect', 'a sales question');

  // The owner, who sees everything, sees both cards: the list does show root conversations.
  const ownerPage = await newPage();
  await signIn(ownerPage, server.url, tenant.owner);
  await expect(card(ownerPage, 'Rita Root')).toBeVisible();
  await expect(card(ownerPage, 'Pia Prospect')).toBeVisible();

  const samPage = await newPage();
  await signIn(samPage, server.url, sam);
  await expect(card(samPage, 'Pia Prospect')).toBeVisible();
  await expect(card(samPage, 'Rita Root')).toHaveCount(0);
  await expect(conversationList(samPage).getByRole('listitem')).toHaveCount(1);

  // Live too: a new root conversation never reaches Sam, a new Sales one does.
  await inbound(server, supportInbox, 'Ron Rootless', 'another support question');
  await inbound(server, salesInbox, 'Paul Prospect', 'another sales question');
  await expect(card(samPage, 'Paul Prospect')).toBeVisible();
  await expect(card(ownerPage, 'Ron Rootless')).toBeVisible();
  await expect(card(samPage, 'Ron Rootless')).toHaveCount(0);
  await expect(conversationList(samPage).getByRole('listitem')).toHaveCount(2);
});

test('an agent downgraded by an administrator loses the textbox within 2 seconds', async ({ server, page }) => {
  const tenant = await createTenant(server);
  const ann = await createUser(server, tenant, 'Ann Archer');
  const inbox = await createInbox(server, tenant, 'Support');
  const conversation = await inbound(server, inbox, 'Dana Customer', 'Hello?');
  const root = await rootGroup(server, tenant);

  await signIn(page, server.url, ann);
  await openConversation(page, server.url, conversation);
  await expectActive(page);

  const owner = await login(server, tenant.owner);
  await rest(server, owner, 'PUT', `/v1/users/${ann.id}/grants`, [{ role: 'viewer', group_id: root }]);
  const changed = Date.now();
  await expect(messageBox(page)).toHaveCount(0, { timeout: 2_000 });
  expect(Date.now() - changed).toBeLessThanOrEqual(2_000);
});
