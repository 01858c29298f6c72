/**
 * A real `switchboard serve` for the integration tests: a free port on
 * 127.0.0.1, its own SQLite file in a temporary folder, seeded with the
 * admin CLI as an operator would; stopped with SIGTERM or SIGKILL (a crash)
 * and started again on the same port and database.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { SwitchboardClient, type ClientEvents, type ClientOptions } from '../../src/index.js';

const here = fileURLToPath(new URL('.', import.meta.url));
/** The binary under test: SWITCHBOARD_BIN, else the workspace's debug build. */
export const binary = resolve(here, process.env.SWITCHBOARD_BIN ?? '../../../../target/debug/switchboard');
const password = 'a long enough password';

export interface Person {
  id: string;
  name: string;
  email: string;
  token: string;
}

async function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const probe = createServer();
    probe.once('error', fail);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => done(port));
    });
  });
}

/** Polls `check` until it gives something other than undefined, or fails after `ms`. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined> | T | undefined, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  for (let pause = 20; Date.now() < end; pause = Math.min(pause * 2, 200)) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((r) => setTimeout(r, pause));
  }
  throw new Error(`${what}: not within ${ms} ms${last ? ` (${String(last)})` : ''}`);
}

export class Server {
  readonly dir = mkdtempSync(join(tmpdir(), 'switchboard-client-'));
  output = '';
  accountId = '';
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();

  private constructor(readonly port: number) {}

  static async start(): Promise<Server> {
    const server = new Server(await freePort());
    await server.run();
    return server;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  private env(): NodeJS.ProcessEnv {
    return {
      ...process.env,
      SWITCHBOARD_LISTEN: `127.0.0.1:${this.port}`,
      SWITCHBOARD_DATABASE_URL: `sqlite:${join(this.dir, 'switchboard.db')}`,
      SWITCHBOARD_MAIL_DIR: join(this.dir, 'mail'),
      SWITCHBOARD_SHUTDOWN_TIMEOUT_SECS: '3',
      // inboxes and users the admin CLI makes are seen by the running server soon
      SWITCHBOARD_ACCESS_CHECK_MS: '200',
      SWITCHBOARD_LOG: 'info',
    };
  }

  async run(): Promise<void> {
    const child = spawn(binary, ['serve'], { env: this.env(), stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    child.stdout!.on('data', (chunk) => (this.output += chunk.toString()));
    child.stderr!.on('data', (chunk) => (this.output += chunk.toString()));
    this.exited = new Promise((done) => child.once('exit', () => done()));
    let gone = false;
    child.once('exit', () => (gone = true));
    await eventually('the server ready', async () => {
      if (gone) throw new Error(`the server exited:\n${this.output.slice(-2000)}`);
      const answer = await fetch(`${this.url}/readyz`).catch(() => null);
      return answer?.ok ? true : undefined;
    }, 30_000);
  }

  async stop(signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill(signal);
    await this.exited;
    this.child = null;
  }

  async dispose(): Promise<void> {
    await this.stop('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** An admin command on this server's database; its JSON answer. */
  async cli(...args: string[]): Promise<any> {
    return new Promise((done, fail) => {
      execFile(binary, args, { env: this.env() }, (error, stdout, stderr) => {
        if (error) fail(new Error(`switchboard ${args.join(' ')}: ${stderr || error.message}`));
        else done(JSON.parse(stdout));
      });
    });
  }

  /** One REST call; throws with the body on a refusal. */
  async rest(token: string | null, method: string, path: string, body?: unknown): Promise<any> {
    const headers: Record<string, string> = {};
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const answer = await fetch(this.url + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await answer.text();
    if (!answer.ok) throw Object.assign(new Error(`${method} ${path}: ${answer.status} ${text}`), { status: answer.status });
    return text ? JSON.parse(text) : null;
  }

  /** The account, its owner signed in. */
  async tenant(): Promise<Person> {
    const owner = { name: 'Olive Owner', email: 'owner@acme.test' };
    const made = await this.cli('account', 'create', '--name', 'Acme', '--owner-email', owner.email,
      '--owner-name', owner.name, '--owner-password', password);
    this.accountId = made.account_id;
    return { ...owner, id: made.owner_id, token: await this.login(owner.email) };
  }

  /** A user with one role at the root, signed in. */
  async user(name: string, role = 'operator', capacity?: number): Promise<Person> {
    const email = `${name.split(' ')[0]!.toLowerCase()}@acme.test`;
    const made = await this.cli('user', 'create', '--account', this.accountId, '--email', email,
      '--name', name, '--password', password, '--role', role);
    if (capacity !== undefined) {
      await this.cli('user', 'set-capacity', '--user', made.user_id, '--capacity', String(capacity));
    }
    return { id: made.user_id, name, email, token: await this.login(email) };
  }

  async login(email: string): Promise<string> {
    return (await this.rest(null, 'POST', '/v1/auth/login', { email, password })).token;
  }

  /** An inbox; its id and key. */
  async inbox(): Promise<{ id: string; key: string }> {
    const made = await this.cli('inbox', 'create', '--account', this.accountId, '--name', 'Support', '--channel', 'sms');
    return { id: made.inbox_id, key: made.api_key };
  }

  /**
   * Waits until `person` sees `conversation` (the running server learns of
   * inboxes the admin CLI made within SWITCHBOARD_ACCESS_CHECK_MS).
   */
  async seen(person: Person, conversation: string): Promise<void> {
    await eventually(`${person.name} sees the conversation`, async () => {
      await this.rest(person.token, 'GET', `/v1/conversations/${conversation}`);
      return true;
    });
  }

  /** A customer writes; the conversation's id. */
  async inbound(inbox: { id: string; key: string }, handle: string, body: string): Promise<string> {
    const answer = await this.rest(inbox.key, 'POST', '/v1/inbound', { inbox_id: inbox.id, contact: { handle, name: handle }, body });
    return answer.conversation_id;
  }

  /**
   * A client for `person`: each connection takes a fresh single-use ticket
   * (`POST /v1/ws/ticket`), as a console on another origin would. `gate`,
   * when given, holds every connection until it resolves.
   */
  client(person: Person, options: Partial<ClientOptions> & { gate?: () => Promise<void> } = {}): SwitchboardClient {
    const { gate, ...rest } = options;
    return new SwitchboardClient({
      url: async () => {
        await gate?.();
        const { ticket } = await this.rest(person.token, 'POST', '/v1/ws/ticket', {});
        return `ws://127.0.0.1:${this.port}/v1/ws?ticket=${encodeURIComponent(ticket)}`;
      },
      WebSocket,
      backoff: { initialMs: 100, maxMs: 1000 },
      ...rest,
    });
  }
}

/** Resolves with the first `event` of `client` that `pick` accepts. */
export function next<K extends keyof ClientEvents>(
  client: SwitchboardClient,
  event: K,
  pick: (payload: ClientEvents[K]) => boolean = () => true,
  ms = 15_000,
): Promise<ClientEvents[K]> {
  return new Promise((done, fail) => {
    const timer = setTimeout(() => {
      off();
      fail(new Error(`no ${String(event)} event within ${ms} ms`));
    }, ms);
    const off = client.on(event, (payload) => {
      if (!pick(payload)) return;
      clearTimeout(timer);
      off();
      done(payload);
    });
  });
}

/** Resolves once the client's connection is in `state` (at once if it is). */
export function reached(client: SwitchboardClient, state: SwitchboardClient['state']): Promise<unknown> {
  if (client.state === state) return Promise.resolve();
  return next(client, 'state', (s) => s === state);
}

/** Resolves once the client's connection is open. */
export function opened(client: SwitchboardClient): Promise<unknown> {
  return reached(client, 'open');
}
