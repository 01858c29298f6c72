/**
 * The three messenger cases (active and observers; observers only; nobody),
 * with two agents in two browser contexts, and the live message path between them.
 */
import { createInbox, createTenant, createUser, inbound } from '../harness/api.js';
import {
  card, expectAccessible, expectActive, expectAnsweredBy, expectStartChatting, messageBox, messages,
  openConversation, reply, signIn, snapshot, watchForInput,
} from '../harness/console.js';
import { expect, test } from '../harness/fixtures.js';
import { eventually } from '../harness/server.js';

test('nobody, active and observer, observers only: the composer and the card follow who answers', async ({ server, newPage }, testInfo) => {
  const tenant = await createTenant(server);
  const ann = await createUser(server, tenant, 'Ann Archer');
  const bob = await createUser(server, tenant, 'Bob Baker');
  const inbox = await createInbox(server, tenant, 'Support');
  const conversation = await inbound(server, inbox, 'Dana Customer', 'Hello, is anyone there?');

  const annPage = await newPage();
  const bobPage = await newPage();
  const annList = await annPage.context().newPage();

  await annPage.goto(`${server.url}/sign-in`);
  await expectAccessible(annPage, 'the sign-in page');
  await snapshot(annPage, testInfo, 'sign-in');
  await signIn(annPage, server.url, ann);
  await signIn(bobPage, server.url, bob);
  await annList.goto(server.url + '/');
  await expect(card(annList, 'Dana Customer')).toBeVisible();
  await expect(card(annList, 'Dana Customer')).not.toContainText('Answered by');
  await expectAccessible(annList, 'the messenger list');
  await snapshot(annList, testInfo, 'messenger-list');

  // Case 3: nobody views it; opening it makes Ann active.
  await openConversation(annPage, server.url, conversation);
  await expectActive(annPage);
  await expect(messages(annPage).getByText('Hello, is anyone there?')).toBeVisible();
  await expect(card(annList, 'Dana Customer')).toContainText('Answered by Ann Archer');
  await expectAccessible(annPage, 'a conversation (active)');
  await snapshot(annPage, testInfo, 'conversation-active');

  // Case 1: Bob opens it while Ann answers: he observes, with no input at any moment.
  await openConversation(bobPage, server.url, conversation);
  const bobWatch = await watchForInput(bobPage);
  await expectAnsweredBy(bobPage, 'Ann Archer');
  await expect(annPage.getByRole('list', { name: 'Observers' })).toContainText('Bob Baker');
  await expectAccessible(bobPage, 'a conversation (observer)');
  await snapshot(bobPage, testInfo, 'conversation-observer');

  // Ann types: Bob sees it, then the message, and still no input.
  await messageBox(annPage).pressSequentially('Hi Dana', { delay: 20 });
  await expect(bobPage.getByText('Ann Archer is typing…')).toBeVisible();
  await expectAnsweredBy(bobPage, 'Ann Archer');
  await reply(annPage).getByRole('button', { name: 'Send' }).click();
  await expect(messages(bobPage).getByText('Hi Dana')).toBeVisible();
  await expect(messages(annPage).getByText('Hi Dana')).toHaveCount(1);
  await expectAnsweredBy(bobPage, 'Ann Archer');
  expect(await bobWatch.sawInput(), 'the observer was offered an input').toBe(false);

  // Case 2: Ann lets go; both observe; the card loses "Answered by".
  await annPage.getByRole('button', { name: 'Release' }).click();
  await expectStartChatting(annPage);
  await expectStartChatting(bobPage);
  await expect(card(annList, 'Dana Customer')).not.toContainText('Answered by');
  await snapshot(bobPage, testInfo, 'conversation-start-chatting');

  // Both click "Start chatting" at once: exactly one wins, the other observes at once.
  const annWatch = await watchForInput(annPage);
  const bobWatch2 = await watchForInput(bobPage);
  // Both buttons are found first, then clicked in the same instant: a Playwright click
  // would wait forever for the loser's button, which the winner's take removes.
  const annButton = await reply(annPage).getByRole('button', { name: 'Start chatting' }).elementHandle();
  const bobButton = await reply(bobPage).getByRole('button', { name: 'Start chatting' }).elementHandle();
  await Promise.all([annButton!.evaluate((b: HTMLElement) => b.click()), bobButton!.evaluate((b: HTMLElement) => b.click())]);
  const winner = await eventually('one of the two agents answering', async () => {
    const [annHas, bobHas] = [await messageBox(annPage).count(), await messageBox(bobPage).count()];
    expect(annHas + bobHas, 'two agents offered the Message box at once').toBeLessThanOrEqual(1);
    return annHas ? ('ann' as const) : bobHas ? ('bob' as const) : undefined;
  }, 10_000);
  const [winPage, losePage, winName] = winner === 'ann' ? [annPage, bobPage, 'Ann Archer'] : [bobPage, annPage, 'Bob Baker'];
  await expectActive(winPage);
  await expectAnsweredBy(losePage, winName, 2_000);
  const loserWatch = winner === 'ann' ? bobWatch2 : annWatch;
  expect(await loserWatch.sawInput(), 'the agent who lost the race was offered an input').toBe(false);
  await expect(card(annList, 'Dana Customer')).toContainText(`Answered by ${winName}`);
  // Still exactly one writer after the dust settles.
  await expect(messageBox(losePage)).toHaveCount(0);
  await expectActive(winPage);
});
