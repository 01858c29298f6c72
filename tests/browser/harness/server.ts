/**
 * A real `switchboard serve` process for one test: its own port on 127.0.0.1,
 * its own SQLite file and mail directory in a temporary folder. It can be
 * stopped (SIGTERM, or SIGKILL to play a crash) and started again on the same
 * port and database, as a console in a browser would live through.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));

/** The binary under test: SWITCHBOARD_BIN, else the workspace's debug build. */
export const binary = resolve(here, '..', process.env.SWITCHBOARD_BIN ?? '../../target/debug/switchboard');

/** A port nobody listens on right now (the kernel's choice for port 0). */
export async function freePort(): Promise<number> {
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

/** Polls `check` until it returns a value other than undefined, or throws after `deadlineMs`. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined> | T | undefined, deadlineMs = 15_000): Promise<T> {
  const end = Date.now() + deadlineMs;
  let lastError: unknown;
  for (let pause = 20; Date.now() < end; pause = Math.min(pause * 2, 250)) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    await new Promise((r) => setTimeout(r, pause));
  }
  throw new Error(`${what}: not within ${deadlineMs} ms${lastError ? ` (last error: ${String(lastError)})` : ''}`);
}

export interface ServerOptions {
  /** Extra SWITCHBOARD_* settings, e.g. SWITCHBOARD_ALLOWED_ORIGINS. */
  env?: Record<string, string>;
}

export class SwitchboardServer {
  readonly dir: string;
  readonly databaseUrl: string;
  readonly mailDir: string;
  /** Everything the process wrote to stdout and stderr, over all its runs. */
  output = '';
  private process: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();

  private constructor(readonly port: number, private readonly options: ServerOptions) {
    this.dir = mkdtempSync(join(tmpdir(), 'switchboard-browser-'));
    this.databaseUrl = `sqlite:${join(this.dir, 'switchboard.db')}`;
    this.mailDir = join(this.dir, 'mail');
  }

  /** Starts a server on a free port with an empty database and waits until it is ready. */
  static async start(options: ServerOptions = {}): Promise<SwitchboardServer> {
    const server = new SwitchboardServer(await freePort(), options);
    await server.run();
    return server;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get origin(): string {
    return this.url;
  }

  /** The settings every run and every admin command of this server shares. */
  env(): NodeJS.ProcessEnv {
    return {
      ...process.env,
      SWITCHBOARD_LISTEN: `127.0.0.1:${this.port}`,
      SWITCHBOARD_DATABASE_URL: this.databaseUrl,
      SWITCHBOARD_MAIL_DIR: this.mailDir,
      SWITCHBOARD_PUBLIC_URL: this.url,
      SWITCHBOARD_MAIL_POLL_MS: '100',
      SWITCHBOARD_ACCESS_CHECK_MS: '200',
      SWITCHBOARD_SHUTDOWN_TIMEOUT_SECS: '3',
      SWITCHBOARD_LOG: 'info',
      ...this.options.env,
    };
  }

  /** Starts the process (again) on the same port and database and waits for /readyz. */
  async run(): Promise<void> {
    const child = spawn(binary, ['serve'], { env: this.env(), stdio: ['ignore', 'pipe', 'pipe'] });
    this.process = child;
    child.stdout!.on('data', (chunk) => (this.output += chunk.toString()));
    child.stderr!.on('data', (chunk) => (this.output += chunk.toString()));
    this.exited = new Promise((done) => child.once('exit', () => done()));
    let gone = false;
    child.once('exit', () => (gone = true));
    await eventually(`switchboard on port ${this.port} ready`, async () => {
      if (gone) throw new Error(`the server exited:\n${this.output.slice(-2000)}`);
      const answer = await fetch(`${this.url}/readyz`).catch(() => null);
      return answer?.ok ? true : undefined;
    }, 30_000);
  }

  /** Stops the process: SIGTERM lets it shut down gracefully, SIGKILL is a crash. */
  async stop(signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
    if (!this.process || this.process.exitCode !== null || this.process.signalCode !== null) return;
    this.process.kill(signal);
    await this.exited;
    this.process = null;
  }

  async restart(signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
    await this.stop(signal);
    await this.run();
  }

  /** The first-run link the server printed (`http://.../setup?token=...`). */
  async setupLink(): Promise<string> {
    return eventually('the setup link on the server output', () => this.output.match(/https?:\/\/\S+\/setup\?token=[A-Za-z0-9_\-]+/)?.[0]);
  }

  /** Runs an admin command against this server's database; answers its JSON. */
  async cli(...args: string[]): Promise<any> {
    return new Promise((done, fail) => {
      execFile(binary, args, { env: this.env() }, (error, stdout, stderr) => {
        if (error) fail(new Error(`switchboard ${args.join(' ')}: ${stderr || error.message}`));
        else done(JSON.parse(stdout));
      });
    });
  }

  async dispose(): Promise<void> {
    await this.stop('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }
}
