/**
 * The transport boundary, faked: a WebSocket the test plays the server of.
 * Every socket the client makes is kept in `FakeSocket.made`; the test
 * accepts it, reads what the client wrote and answers frames by `ref`.
 */
import { vi } from 'vitest';
import type { SocketLike } from '../../src/index.js';

export class FakeSocket implements SocketLike {
  static made: FakeSocket[] = [];
  readyState = 0;
  sent: Array<Record<string, unknown>> = [];
  closedWith: { code?: number; reason?: string } | null = null;
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;

  constructor(readonly url: string) {
    FakeSocket.made.push(this);
  }

  static reset(): void {
    FakeSocket.made = [];
  }

  /** The newest socket. */
  static get last(): FakeSocket {
    const socket = FakeSocket.made[FakeSocket.made.length - 1];
    if (!socket) throw new Error('the client made no socket');
    return socket;
  }

  send(data: string): void {
    if (this.readyState !== 1) throw new Error('send on a socket that is not open');
    this.sent.push(JSON.parse(data) as Record<string, unknown>);
  }

  close(code?: number, reason?: string): void {
    this.closedWith = { code, reason };
    this.readyState = 3;
  }

  // --- the server's side ---

  /** The upgrade succeeded and the server says welcome. */
  welcome(user = 'u-me', heartbeatMs = 25_000): void {
    this.readyState = 1;
    this.onopen?.({});
    this.push({
      type: 'welcome',
      session_id: 's1',
      user: { id: user, name: 'Me', account_id: 'a1' },
      heartbeat_ms: heartbeatMs,
    });
  }

  push(frame: Record<string, unknown>): void {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }

  /** The server ends the connection. */
  drop(code = 1006, reason = ''): void {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }

  /** The frames of `type` the client wrote. */
  frames(type: string): Array<Record<string, unknown>> {
    return this.sent.filter((f) => f.type === type);
  }

  /** The newest frame of `type` the client wrote. */
  lastFrame(type: string): Record<string, unknown> {
    const found = this.frames(type);
    const frame = found[found.length - 1];
    if (!frame) throw new Error(`the client wrote no ${type}`);
    return frame;
  }

  /** Acks the newest `type` frame with `body`. */
  ack(type: string, body: Record<string, unknown> = {}): void {
    this.push({ type: 'ack', ref: this.lastFrame(type).ref, ...body });
  }
}

/** Lets promises and due timers run. */
export async function tick(ms = 0): Promise<void> {
  await vi.advanceTimersByTimeAsync(ms);
}

export function message(conversation: string, seq: number, body = `m${seq}`) {
  return {
    id: `${conversation}-${seq}`,
    conversation_id: conversation,
    seq,
    direction: 'inbound',
    author: null,
    body,
    created_at: '2026-12-04T00:00:00.000Z',
  };
}

export function presence(conversation: string, active: string | null, observers: string[] = []) {
  return {
    conversation_id: conversation,
    active: active ? { user_id: active, name: active } : null,
    observers: observers.map((id) => ({ user_id: id, name: id })),
    version: 1,
  };
}
