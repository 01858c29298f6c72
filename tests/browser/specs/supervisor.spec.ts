/**
 * The supervisor's live view: the Unassigned queue in order, each agent's availability
 * and load against capacity, and every open conversation with who answers and who
 * watches it, all following what the agents do in their own browsers. The supervisor
 * watches silently: the agents' observer lists never name them.
 */
import { createInbox, createTenant, createUser, inbound } from '../harness/api.js';
import { expectAccessible, expectActive, openConversation, signIn, snapshot } from '../harness/console.js';
import { expect, test } from '../harness/fixtures.js';
import type { Page } from '@playwright/test';

const agentRow = (page: Page, name: string) =>
  page.getByRole('table', { name: 'Agents' }).getByRole('row').filter({ has: page.getByRole('rowheader', { name }) });
const conversationRow = (page: Page, contact: string) =>
  page.getByRole('table', { name: 'Open conversations' }).getByRole('row').filter({ has: page.getByRole('rowheader', { name: contact }) });
const queue = (page: Page) => page.getByRole('list', { name: 'Unassigned queue' }).getByRole('listitem');

test('the supervisor sees the queue, the agents and who answers and watches, live', async ({ server, newPage }, testInfo) => {
  const tenant = await createTenant(server);
  const sam = await createUser(server, tenant, 'Sam Supervisor', 'inbox_manager');
  const ann = await createUser(server, tenant, 'Ann Archer');
  const bob = await createUser(server, tenant, 'Bob Baker');
  // Sam supervises and takes no conversations himself.
  await server.cli('user', 'set-capacity', '--user', sam.id, '--capacity', '0');
  await server.cli('user', 'set-capacity', '--user', ann.id, '--capacity', '1');
  await server.cli('user', 'set-capacity', '--user', bob.id, '--capacity', '0');
  const inbox = await createInbox(server, tenant, 'Support');
  // Nobody is online: both wait, in the order they came.
  const dana = await inbound(server, inbox, 'Dana Customer', 'Is my order on its way?');
  await inbound(server, inbox, 'Evan Customer', 'Hello?');

  const samPage = await newPage();
  await signIn(samPage, server.url, sam);
  await samPage.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Supervisor' }).click();
  await expect(samPage.getByRole('heading', { name: 'Supervisor', level: 1 })).toBeVisible();
  await expect(queue(samPage)).toHaveText([/Dana Customer/, /Evan Customer/]);
  await expect(agentRow(samPage, 'Ann Archer')).toContainText('Offline');
  await expect(agentRow(samPage, 'Ann Archer')).toContainText('0 / 1');
  await expect(agentRow(samPage, 'Bob Baker')).toContainText('0 / 0');
  await expect(conversationRow(samPage, 'Dana Customer')).toContainText('Unassigned (#1)');
  await expectAccessible(samPage, 'the supervisor view');

  // Ann opens her console: she comes online and the first in the queue is routed to her.
  const annPage = await newPage();
  await signIn(annPage, server.url, ann);
  await expect(agentRow(samPage, 'Ann Archer')).toContainText('Online');
  await expect(agentRow(samPage, 'Ann Archer')).toContainText('1 / 1 (full)');
  await expect(conversationRow(samPage, 'Dana Customer')).toContainText('Ann Archer');
  await expect(queue(samPage)).toHaveText([/Evan Customer/]);

  // Ann answers Dana; Bob watches her.
  await openConversation(annPage, server.url, dana);
  await expectActive(annPage);
  await expect(conversationRow(samPage, 'Dana Customer').getByRole('cell').nth(1)).toHaveText('Ann Archer');
  const bobPage = await newPage();
  await signIn(bobPage, server.url, bob);
  await openConversation(bobPage, server.url, dana);
  await expect(conversationRow(samPage, 'Dana Customer').getByRole('cell').nth(2)).toHaveText('Bob Baker');
  await expect(annPage.getByRole('list', { name: 'Observers' })).toHaveText('Bob Baker');
  await expect(annPage.getByRole('list', { name: 'Observers' })).not.toContainText('Sam Supervisor');

  // Bob steps away; Ann's console closes and she goes offline.
  await bobPage.getByRole('combobox', { name: 'Availability' }).selectOption('away');
  await expect(agentRow(samPage, 'Bob Baker')).toContainText('Away');
  await bobPage.goto(`${server.url}/`);
  await expect(conversationRow(samPage, 'Dana Customer').getByRole('cell').nth(2)).toHaveText('Nobody');
  await snapshot(samPage, testInfo, 'supervisor');
  await annPage.context().close();
  await expect(agentRow(samPage, 'Ann Archer')).toContainText('Offline', { timeout: 30_000 });
});

test('an agent without conversations.assign has no supervisor view', async ({ server, newPage }) => {
  const tenant = await createTenant(server);
  const ann = await createUser(server, tenant, 'Ann Archer');
  const page = await newPage();
  await signIn(page, server.url, ann);
  await expect(page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Supervisor' })).toHaveCount(0);
  await page.goto(`${server.url}/supervisor`);
  await expect(page.getByRole('alert').first()).toBeVisible();
  await expect(page.getByRole('table', { name: 'Agents' }).getByRole('row')).toHaveCount(1);
});
