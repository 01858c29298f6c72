/**
 * A supervisor's client against the real server: `watch` follows a
 * conversation without entering its presence, `subscribeAgents` lists the
 * agents and follows them live, and both come back after a restart.
 */
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { SwitchboardClient } from '../../src/index.js';
import { next, opened, reached, Server, type Person } from './server.js';

let server: Server;
let clients: SwitchboardClient[] = [];
let sam: Person;
let ann: Person;
let inbox: { id: string; key: string };

beforeEach(async () => {
  server = await Server.start();
  await server.tenant();
  sam = await server.user('Sam Supervisor', 'inbox_manager', 0);
  ann = await server.user('Ann Archer', 'operator', 2);
  inbox = await server.inbox();
});

afterEach(async () => {
  for (const client of clients) client.close();
  clients = [];
  await server.dispose();
});

function connect(person: Person): SwitchboardClient {
  const client = server.client(person);
  clients.push(client);
  client.connect();
  return client;
}

it('watches silently and follows the agents, across a restart', async () => {
  const conversation = await server.inbound(inbox, '+15550101', 'hello?');
  await server.seen(sam, conversation);
  const s = connect(sam);
  await opened(s);
  const agents = await s.subscribeAgents();
  expect(agents.map((a) => a.name)).toEqual(['Ann Archer', 'Olive Owner', 'Sam Supervisor']);
  expect(agents.find((a) => a.user_id === ann.id)?.online).toBe(false);
  const watched = await s.watch(conversation);
  expect(watched.presence.active).toBeNull();
  expect(watched.presence.observers).toEqual([]);

  const a = connect(ann);
  await next(s, 'agent_status', (x) => x.user_id === ann.id && x.online);
  await opened(a);
  const joined = await a.join(conversation);
  expect(joined.presence.observers).toEqual([]); // the watcher is nobody's observer
  await next(s, 'presence', (p) => p.active?.user_id === ann.id);
  const seen = next(s, 'message');
  await a.send(conversation, 'Hi! Let me look.');
  expect((await seen).message.body).toBe('Hi! Let me look.');

  await server.stop('SIGKILL');
  await reached(s, 'offline');
  await server.run();
  const back = next(s, 'agents');
  await opened(s);
  expect((await back).map((x) => x.name)).toContain('Ann Archer');
  const after = next(s, 'message');
  await server.inbound(inbox, '+15550101', 'still there?');
  expect((await after).message.body).toBe('still there?');
});
