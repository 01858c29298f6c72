/**
 * Stands in for `@switchboard/client` (clients/typescript) until that package is in the
 * repository: the same names and shapes as its contract, but it never connects, so the
 * console builds and shows itself offline. Remove once the client is merged.
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
export interface TypingEvent { conversation_id: string; user: UserRef }
export interface ConversationRemoved { conversation_id: string }
export interface LockLost { conversation_id: string; reason: string }
export interface AgentStatus { user_id: string; availability: string; load: number; capacity: number }
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
  conversation_removed: ConversationRemoved; lock_lost: LockLost; agent_status: AgentStatus;
  error: ErrorFrame; unauthorized: ErrorFrame;
}
export interface ClientOptions { url: string | (() => string | Promise<string>); WebSocket?: unknown }

const notYet = () => Promise.reject(new Error('the WebSocket client is not part of this build yet'));

export function messengerRole(presence: Presence, me: string): MessengerRole {
  if (!presence.active) return { kind: 'start_chatting' };
  return presence.active.user_id === me ? { kind: 'active' } : { kind: 'answered_by', user: presence.active };
}

export class SwitchboardClient {
  state: ConnectionState = 'offline';
  user: WelcomeUser | null = null;
  constructor(_options: ClientOptions) {}
  connect(): void {}
  close(): void {}
  subscribeInbox(_folderId?: string): Promise<Summary[]> { return notYet(); }
  unsubscribeInbox(): void {}
  join(_id: string): Promise<JoinResult> { return notYet(); }
  leave(_id: string): Promise<void> { return notYet(); }
  take(_id: string, _force?: boolean): Promise<Presence> { return notYet(); }
  release(_id: string): Promise<Presence> { return notYet(); }
  send(_id: string, _body: string, _clientMsgId?: string): Promise<Message> { return notYet(); }
  typing(_id: string): void {}
  setAvailability(_status: 'available' | 'away'): Promise<void> { return notYet(); }
  assign(_id: string, _userId: string, _force?: boolean): Promise<void> { return notYet(); }
  unassign(_id: string): Promise<void> { return notYet(); }
  resolve(_id: string): Promise<void> { return notYet(); }
  reopen(_id: string): Promise<void> { return notYet(); }
  on<K extends keyof ClientEvents>(_event: K, _handler: (payload: ClientEvents[K]) => void): () => void {
    return () => {};
  }
  roleIn(_id: string): MessengerRole | null { return null; }
}
