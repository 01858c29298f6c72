/**
 * The server restarts under a live console: the "Offline" banner comes and
 * goes, and customers' messages posted around the restart appear once, in order.
 */
import { createInbox, createTenant, createUser, inbound } from '../harness/api.js';
import { expectActive, messages, openConversation, signIn } from '../harness/console.js';
import { expect, test } from '../harness/fixtures.js';

for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
  test(`a console lives through a restart (${signal})`, async ({ server, page }) => {
    const tenant = await createTenant(server);
    const ann = await createUser(server, tenant, 'Ann Archer');
    const inbox = await createInbox(server, tenant, 'Support');
    const conversation = await inbound(server, inbox, 'Dana Customer', 'first');

    await signIn(page, server.url, ann);
    await openConversation(page, server.url, conversation);
    await expectActive(page);
    await expect(messages(page).getByText('first')).toBeVisible();
    const offline = page.getByRole('alert').filter({ hasText: 'Offline' });
    await expect(offline).toHaveCount(0);

    await server.stop(signal);
    await expect(offline).toBeVisible();
    await server.run();
    // Posted at once after the restart: most likely before the console is back.
    await inbound(server, inbox, 'Dana Customer', 'second');
    await inbound(server, inbox, 'Dana Customer', 'third');
    await expect(offline).toHaveCount(0, { timeout: 20_000 });
    await inbound(server, inbox, 'Dana Customer', 'fourth');

    const log = messages(page);
    await expect(log.getByText('fourth', { exact: true })).toBeVisible();
    for (const body of ['first', 'second', 'third', 'fourth']) await expect(log.getByText(body, { exact: true })).toHaveCount(1);
    const bodies = await log.getByRole('listitem').or(log.getByRole('article')).allInnerTexts();
    const order = ['first', 'second', 'third', 'fourth'].map((b) => bodies.findIndex((t) => t.includes(b)));
    expect(order, `messages in order in ${JSON.stringify(bodies)}`).toEqual([...order].sort((a, b) => a - b));
    expect(order.every((i) => i >= 0)).toBe(true);
  });
}
