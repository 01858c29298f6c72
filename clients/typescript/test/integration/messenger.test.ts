/**
 * The client against a real `switchboard serve` (SWITCHBOARD_BIN) on
 * loopback, with `ws` as its WebSocket: the messenger's states between two
 * agents, a server killed and started again under live clients, and a
 * logout that ends a client for good.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Message, SwitchboardClient, SwitchboardError } from '../../src/index.js';
import { next, opened, reached, Server, type Person } from './server.js';

let server: Server;
let clients: SwitchboardClient[] = [];
let ann: Person;
let bob: Person;
let inbox: { id: string; key: string };

beforeEach(async () => {
  server = await Server.start();
  await server.tenant();
  ann = await server.user('Ann Archer');
  bob = await server.user('Bob Baker');
  inbox = await server.inbox();
});

afterEach(async () => {
  for (const client of clients) client.close();
  clients = [];
  await server.dispose();
});

function connect(person: Person, options: Parameters<Server['client']>[1] = {}): SwitchboardClient {
  const client = server.client(person, options);
  clients.push(client);
  client.connect();
  return client;
}

describe('the messenger between two agents', () => {
  it('one answers, the other observes, the observer sees messages and typing, a take is refused, a release frees it', async () => {
    const conversation = await server.inbound(inbox, '+15550001', 'Is my order on its way?');
    await server.seen(bob, conversation);
    const a = connect(ann);
    const b = connect(bob);
    await Promise.all([opened(a), opened(b)]);

    const joined = await a.join(conversation);
    expect(joined.presence.active?.user_id).toBe(ann.id); // nobody was there: Ann answers
    expect(joined.messages.map((m) => m.body)).toEqual(['Is my order on its way?']);
    expect(a.roleIn(conversation)).toEqual({ kind: 'active' });

    await b.join(conversation);
    expect(b.roleIn(conversation)).toMatchObject({ kind: 'answered_by', user: { user_id: ann.id } });
    await next(a, 'presence', (p) => p.observers.some((o) => o.user_id === bob.id));

    const typing = next(b, 'typing');
    a.typing(conversation);
    expect((await typing).user_id).toBe(ann.id);

    const arrives = next(b, 'message');
    const sent = await a.send(conversation, 'Let me check that for you.');
    const seen = await arrives;
    expect(seen.message).toMatchObject({ seq: sent.seq, body: 'Let me check that for you.' });

    const refused = (await b.take(conversation).catch((e: SwitchboardError) => e)) as SwitchboardError;
    expect(refused.code).toBe('locked');
    expect(refused.answeredBy?.user_id).toBe(ann.id);

    const freed = next(b, 'role', (r) => r.role.kind === 'start_chatting');
    await a.release(conversation);
    await freed;
    await b.take(conversation);
    expect(b.roleIn(conversation)).toEqual({ kind: 'active' });
    await next(a, 'role', (r) => r.role.kind === 'answered_by');
  });
});

describe('a server restarted under live clients', () => {
  it('the client goes offline, resumes, and gets what was sent meanwhile once, in order', async () => {
    const conversation = await server.inbound(inbox, '+15550002', 'hello');
    await server.seen(bob, conversation);
    let letIn: () => void = () => {};
    let gate: Promise<void> = Promise.resolve();
    const b = connect(bob, { gate: () => gate });
    await opened(b);
    const listed = await b.subscribeInbox();
    expect(listed.map((c) => c.id)).toContain(conversation);
    await b.join(conversation);
    const received: Message[] = [];
    b.on('message', ({ message }) => received.push(message));
    const states: string[] = [];
    b.on('state', (s) => states.push(s));

    gate = new Promise((open) => (letIn = open)); // hold the reconnection
    await server.stop('SIGKILL');
    await reached(b, 'offline');
    await server.run();
    for (const body of ['one', 'two', 'three']) await server.inbound(inbox, '+15550002', body);
    const resumed = next(b, 'resumed');
    letIn();
    expect((await resumed).conversations).toEqual([conversation]);
    expect(b.state).toBe('open');
    expect(received.map((m) => m.body)).toEqual(['one', 'two', 'three']);

    // Live again: the next arrives once, after them.
    const live = next(b, 'message');
    await server.inbound(inbox, '+15550002', 'four');
    expect((await live).message.body).toBe('four');
    expect(received.map((m) => m.seq)).toEqual([2, 3, 4, 5]);
    expect(states).toContain('offline');
  });

  it('a message sent while the server is down is stored once when it is back', async () => {
    const conversation = await server.inbound(inbox, '+15550003', 'hello');
    await server.seen(ann, conversation);
    const a = connect(ann);
    await opened(a);
    await a.join(conversation);
    await server.stop('SIGKILL');
    await reached(a, 'offline');
    const sending = a.send(conversation, 'sorry for the wait', 'retry-1');
    await server.run();
    const stored = await sending;
    const answer = await server.rest(ann.token, 'GET', `/v1/conversations/${conversation}/messages`);
    const messages: Array<{ body: string }> = Array.isArray(answer) ? answer : answer.messages;
    const bodies = messages.map((m) => m.body);
    expect(bodies.filter((b) => b === 'sorry for the wait')).toHaveLength(1);
    expect(stored.body).toBe('sorry for the wait');
  });
});

describe('signing out', () => {
  it('ends the client for good: unauthorized, closed, no reconnection', async () => {
    const a = connect(ann);
    await opened(a);
    const told = next(a, 'unauthorized');
    await server.rest(ann.token, 'POST', '/v1/auth/logout', {});
    await told;
    expect(a.state).toBe('closed');
  });
});
