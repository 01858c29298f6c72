/**
 * The client: one WebSocket to Switchboard, kept alive and brought back.
 *
 * - Requests carry a `ref` and resolve with their `ack` (or reject with a
 *   {@link SwitchboardError}) within `requestTimeoutMs`. Made while the
 *   connection is down, they wait for it (at most `maxWaiting` of them).
 * - A `ping` with a ref goes out every `heartbeat_ms` (from `welcome`); no
 *   ack within `requestTimeoutMs` means the connection is dead: it is
 *   dropped and made again.
 * - Reconnection backs off exponentially with full jitter; a server going
 *   away (`1001`) is rejoined at once (a short random delay), a
 *   `retry_after_ms` is waited out, and a refusal of the credentials
 *   (`unauthorized`, close `4401`, `1008` "logged out", `4403`) ends the
 *   client (`unauthorized`, state `closed`).
 * - After a reconnect everything is resumed before the state is `open`
 *   again: the inbox subscription (its folder), every joined or watched
 *   conversation from the last `seq` seen (following `complete: false`
 *   pages), the agents' subscription. Missed messages arrive once, in
 *   order; live messages are de-duplicated and a gap is filled from the
 *   server before what follows it.
 * - `send` keeps its `client_msg_id` across reconnects: a message sent
 *   while the connection dropped is sent again until acked, and the server
 *   stores it once.
 */
import { Backoff, DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js';
import { Emitter } from './emitter.js';
import { SwitchboardError } from './errors.js';
import type {
  Ack,
  AgentRemoved,
  AgentStatus,
  ClientFrame,
  ConversationRemoved,
  ErrorFrame,
  LockLost,
  Message,
  MessageEvent,
  Presence,
  ServerFrame,
  Summary,
  TypingEvent,
  Welcome,
  WelcomeUser,
} from './frames.js';
import { messengerRole, sameRole, type MessengerRole } from './messenger.js';

export type ConnectionState = 'connecting' | 'open' | 'offline' | 'closed';

/** What the client tells its listeners. */
export interface ClientEvents {
  state: ConnectionState;
  welcome: Welcome;
  /** Everything was resumed after a (re)connect: these conversations are current again. */
  resumed: { conversations: string[] };
  /** The whole inbox list, as `subscribe_inbox` (or its resume) gave it. */
  inbox: Summary[];
  presence: Presence;
  /** The user's messenger role in a conversation changed. */
  role: { conversationId: string; role: MessengerRole };
  /** A message of a joined conversation, once each, in `seq` order. */
  message: MessageEvent;
  typing: TypingEvent;
  conversation: Summary;
  conversation_removed: ConversationRemoved;
  lock_lost: LockLost;
  /** The user's own routing state. */
  agent: AgentStatus;
  /** An agent followed with `subscribeAgents` changed. */
  agent_status: AgentStatus;
  agent_removed: AgentRemoved;
  /** The whole list of followed agents, as `subscribe_agents` (or its resume) gave it. */
  agents: AgentStatus[];
  /** An `error` frame that answered no request. */
  error: ErrorFrame;
  /** The credentials were refused: the client stopped. Sign in again. */
  unauthorized: ErrorFrame;
}

/** The part of the WebSocket API the client uses (the browser's, or `ws`'s). */
export interface SocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
}

export type SocketFactory = new (url: string) => SocketLike;

export interface ClientOptions {
  /** The WebSocket URL, or a function giving it for each connection (a fresh ticket). */
  url: string | (() => string | Promise<string>);
  /** The WebSocket class (default: the global one; in Node.js 20 pass `ws`'s). */
  WebSocket?: unknown;
  /** How long a request waits for its answer, connecting included (default 10 s). */
  requestTimeoutMs?: number;
  /** How long `send` keeps trying across reconnects (default 60 s). */
  sendTimeoutMs?: number;
  /** Requests waiting for the connection, at most (default 100). */
  maxWaiting?: number;
  /** Reconnection backoff (default 500 ms doubling up to 15 s, full jitter). */
  backoff?: Partial<BackoffOptions>;
  /** The ceiling of the random delay before rejoining a server that went away (default 250 ms). */
  goingAwayMs?: number;
  /** Random numbers in [0, 1) (tests make them predictable). */
  random?: () => number;
}

/** What `join` and `watch` give. */
export interface JoinResult {
  presence: Presence;
  messages: Message[];
  last_seq: number;
}

const OPEN = 1;
const GOING_AWAY = 1001;
const POLICY = 1008;
/** Close codes after which reconnecting cannot help: sign in again. */
const REFUSED = new Set([4401, 4403]);

interface Pending {
  resolve: (ack: Ack) => void;
  reject: (error: SwitchboardError) => void;
  timer: ReturnType<typeof setTimeout>;
}

interface Waiting {
  frame: Record<string, unknown>;
  ref: string;
  pending: Pending;
}

/** A conversation this client views: how, and what it has of it. */
interface Viewed {
  watch: boolean;
  /** The newest seq delivered to listeners. */
  lastSeq: number;
  /** Live messages held while a gap is filled. */
  held: Message[] | null;
}

export class SwitchboardClient {
  state: ConnectionState = 'connecting';
  /** The signed-in user (from the last `welcome`). */
  user: WelcomeUser | null = null;

  private readonly events = new Emitter<ClientEvents>();
  private readonly options: Required<Omit<ClientOptions, 'WebSocket' | 'backoff'>>;
  private readonly Socket: SocketFactory;
  private readonly backoff: Backoff;
  private socket: SocketLike | null = null;
  /** The socket's `welcome` came and its resume finished. */
  private ready = false;
  private started = false;
  private stopped = false;
  private nextRef = 1;
  private readonly pending = new Map<string, Pending>();
  private waiting: Waiting[] = [];
  private readonly viewed = new Map<string, Viewed>();
  private readonly presences = new Map<string, Presence>();
  private readonly roles = new Map<string, MessengerRole>();
  private inbox: { folderId?: string } | null = null;
  private followingAgents = false;
  private heartbeat: ReturnType<typeof setInterval> | null = null;
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  /** A delay the server asked for (`retry_after_ms`) before the next connection. */
  private retryAfterMs = 0;
  /** Resolved whenever the connection becomes ready. */
  private readyWaiters: Array<() => void> = [];

  constructor(options: ClientOptions) {
    this.options = {
      url: options.url,
      requestTimeoutMs: options.requestTimeoutMs ?? 10_000,
      sendTimeoutMs: options.sendTimeoutMs ?? 60_000,
      maxWaiting: options.maxWaiting ?? 100,
      goingAwayMs: options.goingAwayMs ?? 250,
      random: options.random ?? Math.random,
    };
    const Socket = (options.WebSocket ?? (globalThis as { WebSocket?: unknown }).WebSocket) as
      | SocketFactory
      | undefined;
    if (!Socket) throw new Error('no WebSocket class: pass ClientOptions.WebSocket');
    this.Socket = Socket;
    this.backoff = new Backoff({ ...DEFAULT_BACKOFF, ...options.backoff }, this.options.random);
  }

  // --- lifecycle -------------------------------------------------------------

  /** Opens the connection (once); it is kept open until `close`. */
  connect(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    void this.open();
  }

  /** Closes the connection for good; waiting requests are rejected (`closed`). */
  close(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.dropSocket(1000, 'client closed');
    this.failAll(new SwitchboardError('closed', 'the client was closed'));
    this.setState('closed');
  }

  /** Subscribes to an event; returns the function that unsubscribes. */
  on<K extends keyof ClientEvents>(event: K, handler: (payload: ClientEvents[K]) => void): () => void {
    return this.events.on(event, handler);
  }

  /** The user's messenger role in a conversation this client views. */
  roleIn(conversationId: string): MessengerRole | null {
    return this.roles.get(conversationId) ?? null;
  }

  private async open(): Promise<void> {
    this.setState(this.ready || this.state === 'offline' ? 'offline' : 'connecting');
    let url: string;
    try {
      url = typeof this.options.url === 'string' ? this.options.url : await this.options.url();
    } catch (error) {
      if ((error as { status?: number }).status === 401) {
        this.refuse({ code: 'unauthorized', message: 'the session is no longer valid' });
      } else {
        this.scheduleReconnect(this.backoff.next());
      }
      return;
    }
    if (this.stopped) return;
    let socket: SocketLike;
    try {
      socket = new this.Socket(url);
    } catch {
      this.scheduleReconnect(this.backoff.next());
      return;
    }
    this.socket = socket;
    socket.onmessage = (event) => {
      if (this.socket === socket) this.receive(String(event.data));
    };
    socket.onclose = (event) => {
      if (this.socket === socket) this.lost(event.code, event.reason);
    };
    socket.onerror = () => {};
  }

  /** The socket ended (`code`): decide whether and when to come back. */
  private lost(code: number, reason: string): void {
    this.dropSocket();
    if (this.stopped) return;
    if (REFUSED.has(code) || (code === POLICY && reason === 'logged out')) {
      this.refuse({ code: 'unauthorized', message: reason || 'the credentials were refused' });
      return;
    }
    const floor = this.retryAfterMs;
    this.retryAfterMs = 0;
    const delay =
      code === GOING_AWAY
        ? Math.floor(this.options.random() * this.options.goingAwayMs)
        : this.backoff.next();
    this.scheduleReconnect(Math.max(floor, delay));
  }

  private scheduleReconnect(delayMs: number): void {
    if (this.stopped) return;
    this.setState('offline');
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      void this.open();
    }, delayMs);
  }

  /** Forgets the socket: its pending requests fail (`disconnected`). */
  private dropSocket(code?: number, reason?: string): void {
    const socket = this.socket;
    this.socket = null;
    this.ready = false;
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
    if (socket) {
      socket.onmessage = null;
      socket.onclose = null;
      try {
        socket.close(code, reason);
      } catch {
        // already closed
      }
    }
    const lost = new SwitchboardError('disconnected', 'the connection dropped before the answer');
    for (const [ref, pending] of this.pending) {
      clearTimeout(pending.timer);
      this.pending.delete(ref);
      pending.reject(lost);
    }
  }

  /** The credentials were refused: stop for good. */
  private refuse(frame: ErrorFrame): void {
    this.stopped = true;
    this.dropSocket();
    this.failAll(SwitchboardError.fromFrame(frame));
    this.setState('closed');
    this.events.emit('unauthorized', frame);
  }

  private failAll(error: SwitchboardError): void {
    for (const waiting of this.waiting) {
      clearTimeout(waiting.pending.timer);
      waiting.pending.reject(error);
    }
    this.waiting = [];
  }

  private setState(state: ConnectionState): void {
    if (this.state === state) return;
    this.state = state;
    this.events.emit('state', state);
  }

  // --- frames from the server --------------------------------------------------

  private receive(text: string): void {
    let frame: ServerFrame;
    try {
      frame = JSON.parse(text) as ServerFrame;
    } catch {
      return;
    }
    switch (frame.type) {
      case 'welcome':
        void this.welcomed(frame);
        return;
      case 'ack':
        this.settle(frame.ref, (pending) => pending.resolve(frame));
        return;
      case 'error':
        if (frame.ref && this.pending.has(frame.ref)) {
          this.settle(frame.ref, (pending) => pending.reject(SwitchboardError.fromFrame(frame)));
        } else {
          this.unasked(frame);
        }
        return;
      case 'presence':
        this.notePresence(frame);
        return;
      case 'message':
        this.live(frame.conversation_id, frame.message);
        return;
      case 'conversation':
        this.events.emit('conversation', frame.conversation);
        return;
      case 'conversation_removed':
        if (frame.reason !== 'filter') this.forget(frame.conversation_id);
        this.events.emit('conversation_removed', strip(frame));
        return;
      case 'typing':
        this.events.emit('typing', strip(frame));
        return;
      case 'lock_lost':
        this.events.emit('lock_lost', strip(frame));
        return;
      case 'agent':
        this.events.emit('agent', strip(frame));
        return;
      case 'agent_status':
        this.events.emit('agent_status', strip(frame));
        return;
      case 'agent_removed':
        this.events.emit('agent_removed', strip(frame));
        return;
    }
  }

  private settle(ref: string, how: (pending: Pending) => void): void {
    const pending = this.pending.get(ref);
    if (!pending) return;
    this.pending.delete(ref);
    clearTimeout(pending.timer);
    how(pending);
  }

  /** An `error` no request of ours asked for. */
  private unasked(frame: ErrorFrame): void {
    if (frame.retry_after_ms) this.retryAfterMs = Math.max(this.retryAfterMs, frame.retry_after_ms);
    if (frame.code === 'unauthorized' || frame.code === '2fa_required') {
      this.refuse(strip(frame));
      return;
    }
    this.events.emit('error', strip(frame));
  }

  private async welcomed(welcome: Welcome): Promise<void> {
    const socket = this.socket;
    this.user = welcome.user;
    this.events.emit('welcome', strip(welcome));
    this.startHeartbeat(welcome.heartbeat_ms, socket);
    try {
      await this.resume();
    } catch {
      // The socket dropped while resuming: the next connection resumes again.
      return;
    }
    if (this.socket !== socket || !socket) return;
    this.ready = true;
    this.backoff.reset();
    this.setState('open');
    this.events.emit('resumed', { conversations: [...this.viewed.keys()] });
    this.flushWaiting();
    const waiters = this.readyWaiters;
    this.readyWaiters = [];
    for (const wake of waiters) wake();
  }

  /** Pings every `heartbeat_ms`; an unanswered ping means a dead connection. */
  private startHeartbeat(heartbeatMs: number, socket: SocketLike | null): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    const period = Math.max(1000, heartbeatMs);
    this.heartbeat = setInterval(() => {
      if (this.socket !== socket) return;
      this.transmit({ type: 'ping' }).catch((error: SwitchboardError) => {
        if (this.socket === socket && error.code === 'timeout') this.lost(4000, 'heartbeat');
      });
    }, period);
  }

  // --- resume ----------------------------------------------------------------

  private async resume(): Promise<void> {
    if (this.inbox) {
      const ack = await this.transmit(inboxFrame(this.inbox.folderId));
      this.announceInbox(ack);
    }
    for (const [id, viewed] of this.viewed) {
      await this.catchUp(id, viewed, true);
    }
    if (this.followingAgents) {
      const ack = await this.transmit({ type: 'subscribe_agents' });
      this.announceAgents(ack);
    }
  }

  /**
   * Joins (or watches) `id` again after the last seq delivered, page by
   * page, delivering what comes in order; then what was held meanwhile.
   */
  private async catchUp(id: string, viewed: Viewed, rejoin: boolean): Promise<void> {
    viewed.held ??= [];
    try {
      let complete = false;
      while (!complete) {
        const ack = await this.transmit(joinFrame(id, viewed.watch, viewed.lastSeq));
        if (rejoin && ack.presence) this.notePresence(ack.presence);
        for (const message of ack.messages ?? []) this.deliver(id, viewed, message);
        complete = ack.complete !== false || (ack.messages ?? []).length === 0;
      }
    } finally {
      const held = viewed.held ?? [];
      viewed.held = null;
      for (const message of held.sort((a, b) => a.seq - b.seq)) this.live(id, message);
    }
  }

  /** A live message: delivered if next, dropped if seen, the gap filled first if ahead. */
  private live(id: string, message: Message): void {
    const viewed = this.viewed.get(id);
    if (!viewed) return;
    if (viewed.held) {
      viewed.held.push(message);
      return;
    }
    if (message.seq <= viewed.lastSeq) return;
    if (message.seq === viewed.lastSeq + 1 || viewed.lastSeq === 0) {
      this.deliver(id, viewed, message);
      return;
    }
    viewed.held = [message];
    void this.catchUp(id, viewed, false).catch(() => {
      // Dropped while filling the gap: the resume fills it.
    });
  }

  private deliver(id: string, viewed: Viewed, message: Message): void {
    if (message.seq <= viewed.lastSeq) return;
    viewed.lastSeq = message.seq;
    this.events.emit('message', { conversation_id: id, message });
  }

  private notePresence(frame: Presence): void {
    const presence = strip(frame);
    const id = presence.conversation_id;
    this.presences.set(id, presence);
    this.events.emit('presence', presence);
    if (!this.user || !this.viewed.has(id)) return;
    const role = messengerRole(presence, this.user.id);
    if (!sameRole(this.roles.get(id) ?? null, role)) {
      this.roles.set(id, role);
      this.events.emit('role', { conversationId: id, role });
    }
  }

  private forget(id: string): void {
    this.viewed.delete(id);
    this.presences.delete(id);
    this.roles.delete(id);
  }

  private announceInbox(ack: Ack): Summary[] {
    const list = ack.conversations ?? [];
    this.events.emit('inbox', list);
    for (const card of list) this.events.emit('conversation', card);
    if (ack.agent) this.events.emit('agent', ack.agent);
    return list;
  }

  private announceAgents(ack: Ack): AgentStatus[] {
    const agents = ack.agents ?? [];
    this.events.emit('agents', agents);
    for (const agent of agents) this.events.emit('agent_status', agent);
    return agents;
  }

  // --- requests ----------------------------------------------------------------

  /**
   * Sends a frame with a fresh `ref` and resolves with its ack. Made while
   * the connection is not ready, it waits for it (within the timeout).
   */
  request<T extends Ack = Ack>(frame: ClientFrame | Record<string, unknown>): Promise<T> {
    if (this.stopped) return Promise.reject(new SwitchboardError('closed', 'the client was closed'));
    if (this.ready) return this.transmit(frame as Record<string, unknown>) as Promise<T>;
    if (this.waiting.length >= this.options.maxWaiting) {
      return Promise.reject(new SwitchboardError('offline', 'too many requests waiting for the connection'));
    }
    return new Promise<T>((resolve, reject) => {
      const ref = this.takeRef();
      const pending: Pending = {
        resolve: resolve as (ack: Ack) => void,
        reject,
        timer: setTimeout(() => {
          this.waiting = this.waiting.filter((w) => w.ref !== ref);
          this.pending.delete(ref);
          reject(new SwitchboardError('timeout', 'no connection within the request timeout'));
        }, this.options.requestTimeoutMs),
      };
      this.waiting.push({ frame: frame as Record<string, unknown>, ref, pending });
    });
  }

  /** Writes a frame on the current socket now (resume, heartbeats, ready requests). */
  private transmit(frame: Record<string, unknown>): Promise<Ack> {
    const socket = this.socket;
    if (!socket || socket.readyState !== OPEN) {
      return Promise.reject(new SwitchboardError('disconnected', 'not connected'));
    }
    const ref = this.takeRef();
    return new Promise<Ack>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(ref);
        reject(new SwitchboardError('timeout', `no answer to ${String(frame.type)} within ${this.options.requestTimeoutMs} ms`));
      }, this.options.requestTimeoutMs);
      this.dispatch(socket, frame, ref, { resolve, reject, timer });
    });
  }

  /** Sends the requests that waited for the connection. */
  private flushWaiting(): void {
    const socket = this.socket;
    if (!socket) return;
    const waiting = this.waiting;
    this.waiting = [];
    for (const { frame, ref, pending } of waiting) this.dispatch(socket, frame, ref, pending);
  }

  /** Writes `frame` with `ref`; its answer settles `pending`. */
  private dispatch(socket: SocketLike, frame: Record<string, unknown>, ref: string, pending: Pending): void {
    this.pending.set(ref, pending);
    socket.send(JSON.stringify({ ...frame, ref }));
  }

  private takeRef(): string {
    return `c${this.nextRef++}`;
  }

  /** Resolves when the connection is next ready (or at once if it is). */
  private whenReady(): Promise<void> {
    if (this.ready) return Promise.resolve();
    return new Promise((wake) => this.readyWaiters.push(wake));
  }

  // --- the protocol's frames -----------------------------------------------------

  /** Lists the conversations the user may see (in a folder) and follows them. */
  async subscribeInbox(folderId?: string): Promise<Summary[]> {
    this.inbox = { folderId };
    const ack = await this.request(inboxFrame(folderId));
    return ack.conversations ?? [];
  }

  /** Stops following the inbox across reconnects (the server stops with the connection). */
  unsubscribeInbox(): void {
    this.inbox = null;
  }

  /** Opens a conversation: observe it, or answer it when nobody does. */
  join(conversationId: string): Promise<JoinResult> {
    return this.view(conversationId, false);
  }

  /** Watches a conversation silently, as a supervisor (`conversations.assign`). */
  watch(conversationId: string): Promise<JoinResult> {
    return this.view(conversationId, true);
  }

  private async view(id: string, watch: boolean): Promise<JoinResult> {
    const ack = await this.request(joinFrame(id, watch));
    const lastSeq = ack.last_seq ?? 0;
    const messages = ack.messages ?? [];
    const known = this.viewed.get(id);
    const delivered = messages.length ? messages[messages.length - 1]!.seq : lastSeq;
    this.viewed.set(id, {
      watch,
      lastSeq: Math.max(known?.lastSeq ?? 0, delivered),
      held: known?.held ?? null,
    });
    const presence = ack.presence as Presence;
    this.notePresence(presence);
    return { presence: strip(presence), messages, last_seq: lastSeq };
  }

  /** Stops viewing a conversation. */
  async leave(conversationId: string): Promise<Presence> {
    this.forget(conversationId);
    const ack = await this.request({ type: 'leave', conversation_id: conversationId });
    return ack.presence as Presence;
  }

  /** "Start chatting"; with `force`, take the role from its holder. */
  async take(conversationId: string, force = false): Promise<Presence> {
    const ack = await this.request({ type: 'take', conversation_id: conversationId, ...(force ? { force } : {}) });
    this.notePresence(ack.presence as Presence);
    return ack.presence as Presence;
  }

  /** Gives up the active role, staying as an observer. */
  async release(conversationId: string): Promise<Presence> {
    const ack = await this.request({ type: 'release', conversation_id: conversationId });
    this.notePresence(ack.presence as Presence);
    return ack.presence as Presence;
  }

  /**
   * Writes to the customer (the active responder). A connection that drops
   * before the ack is resumed and the same `client_msg_id` sent again, until
   * `sendTimeoutMs`: the server stores the message once.
   */
  async send(conversationId: string, body: string, clientMsgId: string = newId()): Promise<Message> {
    return this.sendFrame({ type: 'send', conversation_id: conversationId, client_msg_id: clientMsgId, body });
  }

  /** Sends a message template, filled in by the server, like `send`. */
  async sendTemplate(conversationId: string, templateId: string, clientMsgId: string = newId()): Promise<Message> {
    return this.sendFrame({ type: 'send', conversation_id: conversationId, client_msg_id: clientMsgId, template_id: templateId });
  }

  private async sendFrame(frame: Record<string, unknown>): Promise<Message> {
    const deadline = Date.now() + this.options.sendTimeoutMs;
    for (;;) {
      try {
        const ack = await this.request(frame);
        const message = ack.message as Message;
        this.sent(String(frame.conversation_id), message);
        return message;
      } catch (error) {
        const unanswered = error instanceof SwitchboardError && error.unanswered;
        if (!unanswered || Date.now() >= deadline || this.stopped) throw error;
        await this.whenReady();
      }
    }
  }

  /** Our own message, acked: the next in sequence, unless others are missing. */
  private sent(id: string, message: Message): void {
    const viewed = this.viewed.get(id);
    if (!viewed || viewed.held || message.seq <= viewed.lastSeq) return;
    if (message.seq === viewed.lastSeq + 1) {
      viewed.lastSeq = message.seq;
      return;
    }
    viewed.held = [];
    void this.catchUp(id, viewed, false).catch(() => {});
  }

  /** The active responder types (others see it; keeps the role alive). No ack awaited. */
  typing(conversationId: string): void {
    this.request({ type: 'typing', conversation_id: conversationId }).catch(() => {});
  }

  /** Available for automatic assignment, or away. */
  async setAvailability(status: 'available' | 'away'): Promise<AgentStatus> {
    const ack = await this.request({ type: 'set_availability', status });
    return ack.agent as AgentStatus;
  }

  /** Assigns (or transfers) a conversation; `force` past the agent's capacity. */
  async assign(conversationId: string, userId: string, force = false): Promise<Summary | null> {
    const ack = await this.request({ type: 'assign', conversation_id: conversationId, user_id: userId, ...(force ? { force } : {}) });
    return ack.conversation ?? null;
  }

  async unassign(conversationId: string): Promise<Summary | null> {
    return (await this.request({ type: 'unassign', conversation_id: conversationId })).conversation ?? null;
  }

  async resolve(conversationId: string): Promise<Summary | null> {
    return (await this.request({ type: 'resolve', conversation_id: conversationId })).conversation ?? null;
  }

  async reopen(conversationId: string): Promise<Summary | null> {
    return (await this.request({ type: 'reopen', conversation_id: conversationId })).conversation ?? null;
  }

  /** The agents the user may assign to, followed live (`agent_status`, `agent_removed`). */
  async subscribeAgents(): Promise<AgentStatus[]> {
    this.followingAgents = true;
    const ack = await this.request({ type: 'subscribe_agents' });
    return ack.agents ?? [];
  }

  /** Stops following the agents. */
  unsubscribeAgents(): void {
    this.followingAgents = false;
    this.request({ type: 'unsubscribe_agents' }).catch(() => {});
  }

  /** A `ping` with a ref: resolves when the server answered. */
  async ping(): Promise<void> {
    await this.request({ type: 'ping' });
  }
}

function inboxFrame(folderId?: string): Record<string, unknown> {
  return { type: 'subscribe_inbox', ...(folderId ? { folder_id: folderId } : {}) };
}

function joinFrame(id: string, watch: boolean, afterSeq?: number): Record<string, unknown> {
  return {
    type: 'join',
    conversation_id: id,
    ...(afterSeq !== undefined ? { after_seq: afterSeq } : {}),
    ...(watch ? { watch: true } : {}),
  };
}

/** A frame without its `type` tag: the event's payload. */
function strip<T extends object>(frame: T): T {
  const { type: _type, ...rest } = frame as T & { type?: string };
  return rest as T;
}

/** A fresh client message id (idempotency key). */
function newId(): string {
  const crypto = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto;
  if (crypto?.randomUUID) return crypto.randomUUID();
  return `m${Date.now().toString(36)}${Math.random().toString(36).slice(2)}`;
}
