/**
 * Stands in for `@switchboard/client` (clients/typescript) until that package is in the
 * repository: the same names and shapes as its contract, with a minimal implementation
 * (requests by ref, events, reconnect with re-subscribe and re-join after the last seq)
 * so the console can be tried. Used only when ../clients/typescript/src/index.ts is absent.
 */
export type ConnectionState = 'connecting' | 'open' | 'offline' | 'closed';
export interface UserRef { user_id: string; name: string }
export interface Contact { id: string; name: string | null; handle: string }
export interface Summary {
  id: string; inbox_id: string; contact: Contact; status: 'open' | 'resolved';
  assignee: UserRef | null; answered_by: UserRef | null; queue_position: number | null;
  last_message_at: string | null; last_seq: number; preview?: string | null;
  last_message?: Message | null;
}
export interface Presence {
  conversation_id: string; active: UserRef | null; observers: UserRef[]; version: number; epoch?: number;
}
export interface Message {
  id: string; conversation_id: string; seq: number; direction: 'inbound' | 'outbound';
  author: UserRef | null; body: string | null; created_at: string;
}
export interface JoinResult { presence: Presence; messages: Message[]; last_seq: number }
export interface MessageEvent { conversation_id: string; message: Message }
export interface TypingEvent { conversation_id: string; user_id: string }
export interface ConversationRemoved { conversation_id: string }
export interface LockLost { conversation_id: string; reason: string }
export interface AgentStatus { user_id: string; name?: string; availability: string; online: boolean; load: number; capacity: number }
export interface ErrorFrame { code: string; message: string }
export interface Welcome { user: WelcomeUser }
export interface WelcomeUser { id: string; name: string }
export type MessengerRole =
  | { kind: 'active' }
  | { kind: 'answered_by'; user: UserRef }
  | { kind: 'start_chatting' };
export interface ClientEvents {
  state: ConnectionState; welcome: Welcome; resumed: { conversations: string[] };
  presence: Presence; role: { conversationId: string; role: MessengerRole };
  message: MessageEvent; typing: TypingEvent; conversation: Summary;
  conversation_removed: ConversationRemoved; lock_lost: LockLost; agent: AgentStatus; agent_status: AgentStatus;
  agent_removed: { user_id: string };
  error: ErrorFrame; unauthorized: ErrorFrame;
}
export interface ClientOptions { url: string | (() => string | Promise<string>); WebSocket?: unknown }

type Handler = (payload: never) => void;

export function messengerRole(presence: Presence, me: string): MessengerRole {
  if (!presence.active) return { kind: 'start_chatting' };
  return presence.active.user_id === me ? { kind: 'active' } : { kind: 'answered_by', user: presence.active };
}

export class SwitchboardClient {
  state: ConnectionState = 'connecting';
  user: WelcomeUser | null = null;
  private socket: WebSocket | null = null;
  private nextRef = 1;
  private pending = new Map<string, { resolve: (v: any) => void; reject: (e: unknown) => void }>();
  private handlers = new Map<string, Set<Handler>>();
  private joined = new Map<string, number>();
  private presences = new Map<string, Presence>();
  private inbox: { folderId?: string } | null = null;
  private closed = false;
  private delay = 500;

  constructor(private options: ClientOptions) {}

  connect(): void {
    if (this.socket || this.closed) return;
    void this.open();
  }

  private async open(): Promise<void> {
    this.setState('connecting');
    let url: string;
    try {
      url = typeof this.options.url === 'string' ? this.options.url : await this.options.url();
    } catch {
      return this.retry();
    }
    const socket = new WebSocket(url);
    this.socket = socket;
    socket.onmessage = (event) => this.receive(JSON.parse(String(event.data)));
    socket.onclose = () => {
      this.socket = null;
      this.pending.forEach((p) => p.reject(new Error('disconnected')));
      this.pending.clear();
      if (!this.closed) this.retry();
    };
  }

  private retry(): void {
    this.setState('offline');
    setTimeout(() => this.open(), this.delay);
    this.delay = Math.min(this.delay * 2, 15000);
  }

  private setState(state: ConnectionState): void {
    if (this.state === state) return;
    this.state = state;
    this.emit('state', state);
  }

  private async resume(): Promise<void> {
    if (this.inbox) await this.subscribeInbox(this.inbox.folderId).catch(() => {});
    for (const [id, seq] of this.joined) {
      const ack = await this.request<any>({ type: 'join', conversation_id: id, after_seq: seq }).catch(() => null);
      if (ack) this.joinedAck(id, ack);
    }
    this.setState('open');
    this.emit('resumed', { conversations: [...this.joined.keys()] });
  }

  private receive(frame: any): void {
    if (frame.type === 'welcome') {
      this.user = frame.user;
      this.delay = 500;
      this.emit('welcome', frame);
      void this.resume();
    } else if (frame.ref && this.pending.has(frame.ref)) {
      const waiter = this.pending.get(frame.ref)!;
      this.pending.delete(frame.ref);
      if (frame.type === 'error') waiter.reject(Object.assign(new Error(frame.message), frame));
      else waiter.resolve(frame);
    } else if (frame.type === 'error') {
      this.emit(frame.code === 'unauthorized' ? 'unauthorized' : 'error', frame);
      if (frame.code === 'unauthorized') this.close();
    } else if (frame.type === 'presence') {
      this.setPresence(frame);
    } else if (frame.type === 'message') {
      const last = this.joined.get(frame.conversation_id) ?? 0;
      if (frame.message.seq > last) {
        this.joined.set(frame.conversation_id, frame.message.seq);
        this.emit('message', frame);
      }
    } else if (frame.type === 'conversation') {
      this.emit('conversation', frame.conversation);
    } else {
      this.emit(frame.type, frame);
    }
  }

  private setPresence(presence: Presence): void {
    const { type: _type, ...clean } = presence as Presence & { type?: string };
    const before = this.roleIn(clean.conversation_id);
    this.presences.set(clean.conversation_id, clean);
    this.emit('presence', clean);
    const after = this.roleIn(clean.conversation_id);
    if (after && JSON.stringify(after) !== JSON.stringify(before)) this.emit('role', { conversationId: clean.conversation_id, role: after });
  }

  private joinedAck(id: string, ack: any): void {
    this.setPresence(ack.presence);
    const last = this.joined.get(id) ?? 0;
    for (const message of ack.messages as Message[]) if (message.seq > last) this.emit('message', { conversation_id: id, message });
    this.joined.set(id, Math.max(last, ack.last_seq));
  }

  close(): void {
    this.closed = true;
    this.socket?.close();
    this.setState('closed');
  }

  request<T = any>(frame: Record<string, unknown>): Promise<T> {
    const socket = this.socket;
    if (!socket || socket.readyState !== 1) return Promise.reject(new Error('offline'));
    const ref = String(this.nextRef++);
    return new Promise<T>((resolve, reject) => {
      this.pending.set(ref, { resolve, reject });
      socket.send(JSON.stringify({ ...frame, ref }));
    });
  }

  async subscribeInbox(folderId?: string): Promise<Summary[]> {
    this.inbox = { folderId };
    const ack = await this.request<any>({ type: 'subscribe_inbox', ...(folderId ? { folder_id: folderId } : {}) });
    return ack.conversations;
  }
  unsubscribeInbox(): void { this.inbox = null; }
  async join(id: string): Promise<JoinResult> {
    const ack = await this.request<any>({ type: 'join', conversation_id: id });
    this.joined.set(id, ack.last_seq);
    this.setPresence(ack.presence);
    return ack;
  }
  async watch(id: string): Promise<JoinResult> {
    const ack = await this.request<any>({ type: 'join', conversation_id: id, watch: true });
    this.joined.set(id, ack.last_seq);
    this.setPresence(ack.presence);
    return ack;
  }
  async subscribeAgents(): Promise<AgentStatus[]> {
    const ack = await this.request<any>({ type: 'subscribe_agents' });
    return ack.agents;
  }
  unsubscribeAgents(): void { this.request({ type: 'unsubscribe_agents' }).catch(() => {}); }
  async leave(id: string): Promise<void> {
    this.joined.delete(id);
    this.presences.delete(id);
    await this.request({ type: 'leave', conversation_id: id });
  }
  async take(id: string, force?: boolean): Promise<Presence> {
    const ack = await this.request<any>({ type: 'take', conversation_id: id, ...(force ? { force } : {}) });
    this.setPresence(ack.presence);
    return ack.presence;
  }
  async release(id: string): Promise<Presence> {
    const ack = await this.request<any>({ type: 'release', conversation_id: id });
    this.setPresence(ack.presence);
    return ack.presence;
  }
  async send(id: string, body: string, clientMsgId: string = crypto.randomUUID()): Promise<Message> {
    const ack = await this.request<any>({ type: 'send', conversation_id: id, body, client_msg_id: clientMsgId });
    this.joined.set(id, Math.max(this.joined.get(id) ?? 0, ack.message.seq));
    return ack.message;
  }
  typing(id: string): void { this.request({ type: 'typing', conversation_id: id }).catch(() => {}); }
  async setAvailability(status: 'available' | 'away'): Promise<void> { await this.request({ type: 'set_availability', status }); }
  async assign(id: string, userId: string, force?: boolean): Promise<void> {
    await this.request({ type: 'assign', conversation_id: id, user_id: userId, ...(force ? { force } : {}) });
  }
  async unassign(id: string): Promise<void> { await this.request({ type: 'unassign', conversation_id: id }); }
  async resolve(id: string): Promise<void> { await this.request({ type: 'resolve', conversation_id: id }); }
  async reopen(id: string): Promise<void> { await this.request({ type: 'reopen', conversation_id: id }); }

  on<K extends keyof ClientEvents>(event: K, handler: (payload: ClientEvents[K]) => void): () => void {
    const set = this.handlers.get(event) ?? new Set();
    this.handlers.set(event, set);
    set.add(handler as Handler);
    return () => set.delete(handler as Handler);
  }

  private emit(event: string, payload: unknown): void {
    this.handlers.get(event)?.forEach((handler) => (handler as (p: unknown) => void)(payload));
  }

  roleIn(id: string): MessengerRole | null {
    const presence = this.presences.get(id);
    return presence && this.user ? messengerRole(presence, this.user.id) : null;
  }
}
