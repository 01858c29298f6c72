import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Backoff, SwitchboardClient, SwitchboardError, type ClientOptions } from '../../src/index.js';
import { FakeSocket, message, presence, tick } from './fake-socket.js';

const C1 = 'c-1';
const C2 = 'c-2';

function client(options: Partial<ClientOptions> = {}): SwitchboardClient {
  const made = new SwitchboardClient({
    url: 'ws://switchboard.test/v1/ws',
    WebSocket: FakeSocket,
    random: () => 0.999,
    ...options,
  });
  made.connect();
  return made;
}

/** A client whose first connection is open (welcomed, nothing to resume). */
async function connected(options: Partial<ClientOptions> = {}): Promise<SwitchboardClient> {
  const made = client(options);
  await tick();
  FakeSocket.last.welcome();
  await tick();
  expect(made.state).toBe('open');
  return made;
}

/** A client viewing `id` with messages up to `lastSeq` delivered. */
async function joinedAt(made: SwitchboardClient, id: string, lastSeq: number): Promise<void> {
  const joining = made.join(id);
  await tick();
  const messages = Array.from({ length: lastSeq }, (_, i) => message(id, i + 1));
  FakeSocket.last.ack('join', { presence: presence(id, null), messages, last_seq: lastSeq });
  await joining;
}

beforeEach(() => {
  vi.useFakeTimers();
  FakeSocket.reset();
});

afterEach(() => {
  vi.useRealTimers();
});

describe('requests', () => {
  it('resolve with the ack of their own ref, in whatever order acks come', async () => {
    const made = await connected();
    const first = made.request({ type: 'ping' });
    const second = made.request({ type: 'subscribe_inbox' });
    const [a, b] = FakeSocket.last.sent.slice(-2);
    expect(a!.ref).not.toBe(b!.ref);
    FakeSocket.last.push({ type: 'ack', ref: b!.ref, conversations: [] });
    FakeSocket.last.push({ type: 'ack', ref: a!.ref });
    await expect(second).resolves.toMatchObject({ conversations: [] });
    await expect(first).resolves.toMatchObject({ ref: a!.ref });
  });

  it('reject with the server error of their ref, with its details', async () => {
    const made = await connected();
    const taking = made.take(C1);
    const { ref } = FakeSocket.last.lastFrame('take');
    const ann = { user_id: 'u-ann', name: 'Ann' };
    FakeSocket.last.push({ type: 'error', ref, code: 'locked', message: 'answered by Ann', answered_by: ann });
    const refusal = await taking.catch((e: SwitchboardError) => e);
    expect(refusal).toBeInstanceOf(SwitchboardError);
    expect(refusal).toMatchObject({ code: 'locked', answeredBy: ann });
  });

  it('time out when no answer comes', async () => {
    const made = await connected({ requestTimeoutMs: 2000 });
    const asking = made.request({ type: 'ping' }).catch((e: SwitchboardError) => e.code);
    await tick(1999);
    FakeSocket.last.push({ type: 'ack', ref: 'someone-else' });
    await tick(1);
    await expect(asking).resolves.toBe('timeout');
  });

  it('made while connecting wait for the connection, and a bounded number of them', async () => {
    const made = client({ maxWaiting: 2 });
    const first = made.ping();
    const second = made.ping();
    const third = made.ping().catch((e: SwitchboardError) => e.code);
    await expect(third).resolves.toBe('offline');
    await tick();
    FakeSocket.last.welcome();
    await tick();
    const pings = FakeSocket.last.frames('ping');
    expect(pings).toHaveLength(2);
    for (const ping of pings) FakeSocket.last.push({ type: 'ack', ref: ping.ref });
    await expect(Promise.all([first, second])).resolves.toHaveLength(2);
  });

  it('pending when the connection drops are rejected as disconnected', async () => {
    const made = await connected();
    const asking = made.request({ type: 'ping' }).catch((e: SwitchboardError) => e.code);
    FakeSocket.last.drop(1006);
    await expect(asking).resolves.toBe('disconnected');
  });
});

describe('heartbeats', () => {
  it('ping every heartbeat_ms, and an unanswered ping ends the connection and makes a new one', async () => {
    const made = client({ requestTimeoutMs: 3000 });
    await tick();
    const first = FakeSocket.last;
    first.welcome('u-me', 5000);
    await tick();
    await tick(5000);
    expect(first.frames('ping')).toHaveLength(1);
    first.ack('ping');
    await tick(5000);
    expect(first.frames('ping')).toHaveLength(2);
    await tick(3000); // the second is never answered
    expect(first.closedWith).not.toBeNull();
    expect(made.state).toBe('offline');
    await tick(500);
    expect(FakeSocket.made).toHaveLength(2);
  });
});

describe('reconnection', () => {
  it('backs off exponentially with full jitter', () => {
    const draws = [0.999, 0.5, 0.999, 0, 0.999];
    const backoff = new Backoff({ initialMs: 100, maxMs: 1000, factor: 2 }, () => draws.shift()!);
    expect(backoff.next()).toBe(99); // ceiling 100
    expect(backoff.next()).toBe(100); // ceiling 200, half
    expect(backoff.next()).toBe(399); // ceiling 400
    expect(backoff.next()).toBe(0); // ceiling 800, the bottom of the range
    expect(backoff.next()).toBe(999); // ceiling capped at 1000
    backoff.reset();
    expect(backoff.ceiling()).toBe(100);
  });

  it('waits longer after each failed attempt and starts over once connected', async () => {
    const made = client({ backoff: { initialMs: 1000, maxMs: 60_000, factor: 2 } });
    await tick();
    FakeSocket.last.drop(1006);
    await tick(998);
    expect(FakeSocket.made).toHaveLength(1);
    await tick(1);
    expect(FakeSocket.made).toHaveLength(2);
    FakeSocket.last.drop(1006);
    await tick(1997);
    expect(FakeSocket.made).toHaveLength(2);
    await tick(1);
    expect(FakeSocket.made).toHaveLength(3);
    FakeSocket.last.welcome();
    await tick();
    expect(made.state).toBe('open');
    FakeSocket.last.drop(1006);
    await tick(999);
    expect(FakeSocket.made).toHaveLength(4);
  });

  it('comes back at once from a server going away (1001)', async () => {
    await connected({ goingAwayMs: 250, backoff: { initialMs: 10_000 } });
    FakeSocket.last.drop(1001, 'server shutting down');
    await tick(249);
    expect(FakeSocket.made).toHaveLength(2);
  });

  it("waits out the server's retry_after_ms", async () => {
    await connected();
    FakeSocket.last.push({ type: 'error', code: 'rate_limited', message: 'slow down', retry_after_ms: 5000 });
    FakeSocket.last.drop(1008, 'rate limit exceeded');
    await tick(4999);
    expect(FakeSocket.made).toHaveLength(1);
    await tick(1);
    expect(FakeSocket.made).toHaveLength(2);
  });

  it.each([
    [4401, 'unauthorized'],
    [1008, 'logged out'],
    [4403, '2fa_required'],
  ])('stops for good when the credentials are refused (close %i %s)', async (code, reason) => {
    const made = await connected();
    const told = vi.fn();
    made.on('unauthorized', told);
    FakeSocket.last.drop(code, reason);
    await tick(60_000);
    expect(FakeSocket.made).toHaveLength(1);
    expect(made.state).toBe('closed');
    expect(told).toHaveBeenCalledOnce();
  });

  it('stops on an unauthorized error frame before the close', async () => {
    const made = client();
    await tick();
    const told = vi.fn();
    made.on('unauthorized', told);
    FakeSocket.last.readyState = 1;
    FakeSocket.last.push({ type: 'error', code: 'unauthorized', message: 'invalid, used or expired ticket' });
    FakeSocket.last.drop(4401, 'unauthorized');
    await tick(60_000);
    expect(told).toHaveBeenCalledWith({ code: 'unauthorized', message: 'invalid, used or expired ticket' });
    expect(FakeSocket.made).toHaveLength(1);
  });

  it('fetches a fresh URL for each connection, and a 401 from it stops the client', async () => {
    const tickets = ['t1', 't2'];
    let refused = false;
    const made = client({
      url: async () => {
        if (refused) throw Object.assign(new Error('unauthorized'), { status: 401 });
        return `ws://switchboard.test/v1/ws?ticket=${tickets.shift()}`;
      },
    });
    await tick();
    expect(FakeSocket.last.url).toContain('ticket=t1');
    FakeSocket.last.drop(1006);
    await tick(500);
    expect(FakeSocket.last.url).toContain('ticket=t2');
    refused = true;
    FakeSocket.last.drop(1006);
    await tick(1000);
    expect(made.state).toBe('closed');
    expect(FakeSocket.made).toHaveLength(2);
  });
});

describe('resume', () => {
  it('re-subscribes the inbox and re-joins from the last seq, page by page, before it is open', async () => {
    const made = await connected();
    const listing = made.subscribeInbox('folder-1');
    await tick();
    FakeSocket.last.ack('subscribe_inbox', { conversations: [] });
    await listing;
    await joinedAt(made, C1, 2);
    const watching = made.watch(C2);
    await tick();
    FakeSocket.last.ack('join', { presence: presence(C2, null), messages: [message(C2, 1)], last_seq: 1 });
    await watching;

    const seen: string[] = [];
    made.on('message', ({ conversation_id, message: m }) => seen.push(`${conversation_id}#${m.seq}`));
    const resumed = vi.fn();
    made.on('resumed', resumed);
    FakeSocket.last.drop(1006);
    await tick(500);
    const next = FakeSocket.last;
    next.welcome();
    await tick();
    expect(made.state).toBe('offline');
    expect(next.lastFrame('subscribe_inbox')).toMatchObject({ folder_id: 'folder-1' });
    next.ack('subscribe_inbox', { conversations: [] });
    await tick();
    expect(next.lastFrame('join')).toMatchObject({ conversation_id: C1, after_seq: 2 });
    expect(next.lastFrame('join')).not.toHaveProperty('watch');
    next.ack('join', { presence: presence(C1, null), messages: [message(C1, 3), message(C1, 4)], last_seq: 6, complete: false });
    await tick();
    expect(next.lastFrame('join')).toMatchObject({ conversation_id: C1, after_seq: 4 });
    next.ack('join', { presence: presence(C1, null), messages: [message(C1, 5), message(C1, 6)], last_seq: 6, complete: true });
    await tick();
    expect(next.lastFrame('join')).toMatchObject({ conversation_id: C2, after_seq: 1, watch: true });
    expect(resumed).not.toHaveBeenCalled();
    next.ack('join', { presence: presence(C2, null), messages: [], last_seq: 1, complete: true });
    await tick();
    expect(seen).toEqual([`${C1}#3`, `${C1}#4`, `${C1}#5`, `${C1}#6`]);
    expect(resumed).toHaveBeenCalledWith({ conversations: [C1, C2] });
    expect(made.state).toBe('open');
  });

  it('re-subscribes the agents of a supervisor and announces them', async () => {
    const made = await connected();
    const following = made.subscribeAgents();
    await tick();
    FakeSocket.last.ack('subscribe_agents', { agents: [] });
    await following;
    FakeSocket.last.drop(1006);
    await tick(500);
    FakeSocket.last.welcome();
    await tick();
    const statuses = vi.fn();
    made.on('agent_status', statuses);
    const ann = { user_id: 'u-ann', name: 'Ann', availability: 'available', online: true, load: 1, capacity: 2 };
    FakeSocket.last.ack('subscribe_agents', { agents: [ann] });
    await tick();
    expect(statuses).toHaveBeenCalledWith(ann);
    expect(made.state).toBe('open');
  });
});

describe('live messages', () => {
  it('are delivered once, in order: duplicates dropped, a gap filled from the server first', async () => {
    const made = await connected();
    await joinedAt(made, C1, 1);
    const seen: number[] = [];
    made.on('message', ({ message: m }) => seen.push(m.seq));
    const socket = FakeSocket.last;
    socket.push({ type: 'message', conversation_id: C1, message: message(C1, 2) });
    socket.push({ type: 'message', conversation_id: C1, message: message(C1, 2) });
    socket.push({ type: 'message', conversation_id: C1, message: message(C1, 5) });
    await tick();
    expect(socket.lastFrame('join')).toMatchObject({ conversation_id: C1, after_seq: 2 });
    socket.push({ type: 'message', conversation_id: C1, message: message(C1, 6) }); // held meanwhile
    socket.ack('join', { presence: presence(C1, null), messages: [message(C1, 3), message(C1, 4), message(C1, 5)], last_seq: 6, complete: true });
    await tick();
    expect(seen).toEqual([2, 3, 4, 5, 6]);
  });

  it('of a conversation left or removed are not delivered', async () => {
    const made = await connected();
    await joinedAt(made, C1, 1);
    const seen = vi.fn();
    made.on('message', seen);
    FakeSocket.last.push({ type: 'conversation_removed', conversation_id: C1, reason: 'permission' });
    FakeSocket.last.push({ type: 'message', conversation_id: C1, message: message(C1, 2) });
    await tick();
    expect(seen).not.toHaveBeenCalled();
  });
});

describe('send', () => {
  it('is sent again with the same client_msg_id after the connection drops, until acked', async () => {
    const made = await connected();
    await joinedAt(made, C1, 1);
    const sending = made.send(C1, 'hello', 'msg-1');
    await tick();
    expect(FakeSocket.last.lastFrame('send')).toMatchObject({ client_msg_id: 'msg-1', body: 'hello' });
    FakeSocket.last.drop(1006);
    await tick(500);
    const next = FakeSocket.last;
    next.welcome();
    await tick();
    next.ack('join', { presence: presence(C1, 'u-me'), messages: [message(C1, 2, 'hello')], last_seq: 2, complete: true });
    await tick();
    expect(next.lastFrame('send')).toMatchObject({ client_msg_id: 'msg-1', body: 'hello' });
    next.ack('send', { message: message(C1, 2, 'hello') });
    await expect(sending).resolves.toMatchObject({ seq: 2 });
  });

  it('is not retried when the server refuses it', async () => {
    const made = await connected();
    const sending = made.send(C1, 'hello', 'msg-1').catch((e: SwitchboardError) => e.code);
    await tick();
    const { ref } = FakeSocket.last.lastFrame('send');
    FakeSocket.last.push({ type: 'error', ref, code: 'not_active', message: 'take the conversation first' });
    await expect(sending).resolves.toBe('not_active');
    expect(FakeSocket.last.frames('send')).toHaveLength(1);
  });
});

describe('roles', () => {
  it('follow the presence: active, answered by someone, nobody; once per change', async () => {
    const made = await connected();
    await joinedAt(made, C1, 0);
    const roles: string[] = [];
    made.on('role', ({ conversationId, role }) => {
      expect(conversationId).toBe(C1);
      roles.push(role.kind === 'answered_by' ? `answered_by ${role.user.user_id}` : role.kind);
    });
    const socket = FakeSocket.last;
    socket.push({ type: 'presence', ...presence(C1, 'u-me') });
    socket.push({ type: 'presence', ...presence(C1, 'u-me', ['u-bob']) });
    socket.push({ type: 'presence', ...presence(C1, 'u-ann') });
    socket.push({ type: 'presence', ...presence(C1, null) });
    expect(roles).toEqual(['active', 'answered_by u-ann', 'start_chatting']);
    expect(made.roleIn(C1)).toEqual({ kind: 'start_chatting' });
  });

  it('change with the answer to take and release', async () => {
    const made = await connected();
    await joinedAt(made, C1, 0);
    const taking = made.take(C1);
    await tick();
    FakeSocket.last.ack('take', { presence: presence(C1, 'u-me') });
    await taking;
    expect(made.roleIn(C1)).toEqual({ kind: 'active' });
    const releasing = made.release(C1);
    await tick();
    FakeSocket.last.ack('release', { presence: presence(C1, null, ['u-me']) });
    await releasing;
    expect(made.roleIn(C1)).toEqual({ kind: 'start_chatting' });
  });
});

describe('close', () => {
  it('ends the connection and rejects what waits', async () => {
    const made = client();
    const waiting = made.ping().catch((e: SwitchboardError) => e.code);
    made.close();
    await expect(waiting).resolves.toBe('closed');
    expect(made.state).toBe('closed');
    await tick(60_000);
    expect(FakeSocket.made.length).toBeLessThanOrEqual(1);
  });
});
