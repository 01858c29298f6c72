/**
 * The frames of Switchboard's WebSocket protocol (v1), generated from
 * proto/schema/*.schema.json by scripts/generate.mjs. Do not edit: run
 * `npm run generate` after the schema changes (`npm run check-generated`
 * fails while this file is stale).
 */
/* eslint-disable */
/**
 * A client frame, tagged by its `type` field.
 */
export type ClientFrame =
  | ClientSubscribeInbox
  | ClientJoin
  | ClientTake
  | ClientRelease
  | ClientLeave
  | ClientSend
  | ClientTyping
  | ClientPing
  | ClientSetAvailability
  | ClientAssign
  | ClientUnassign
  | ClientResolve
  | ClientReopen
  | ClientSubscribeAgents
  | ClientUnsubscribeAgents;
/**
 * Receive the conversation list now and `conversation` events afterwards.
 */
export type ClientSubscribeInbox = SubscribeInbox & {
  type: 'subscribe_inbox';
};
/**
 * Observe a conversation (or become its active responder if nobody is there).
 */
export type ClientJoin = Join & {
  type: 'join';
};
/**
 * "Start chatting": become the active responder if nobody is.
 */
export type ClientTake = Take & {
  type: 'take';
};
/**
 * Give up the active role and stay as an observer.
 */
export type ClientRelease = ConversationRef & {
  type: 'release';
};
/**
 * Stop observing; releases the active role when held.
 */
export type ClientLeave = ConversationRef & {
  type: 'leave';
};
/**
 * Write to the customer; only the active responder may.
 */
export type ClientSend = Send & {
  type: 'send';
};
/**
 * `send`: the ack carries the stored message, after it is committed. It
 * carries exactly one of `body` and `template_id`.
 */
export type Send = {
  /**
   * The text to send to the customer.
   */
  body?: string;
  /**
   * The client's idempotency key: the same id twice stores one message.
   */
  client_msg_id: string;
  conversation_id: string;
  /**
   * Chosen by the client; the `ack` or `error` answering this frame carries it back.
   */
  ref?: string | null;
  /**
   * A message template to send instead of a body: the server fills its
   * placeholders for this conversation and stores the text.
   */
  template_id?: string;
} & Send1;
export type Send1 = {
  [k: string]: unknown | undefined;
};
/**
 * Keeps the active role alive; others see `typing`.
 */
export type ClientTyping = ConversationRef & {
  type: 'typing';
};
/**
 * An application-level keepalive; acked when it carries a `ref`.
 */
export type ClientPing = Ping & {
  type: 'ping';
};
/**
 * Whether the agent may be auto-assigned new conversations.
 */
export type ClientSetAvailability = SetAvailability & {
  type: 'set_availability';
};
/**
 * An agent's availability for automatic assignment.
 */
export type Availability = 'available' | 'away';
/**
 * Assign (or transfer) a conversation to an agent.
 */
export type ClientAssign = Assign & {
  type: 'assign';
};
/**
 * Put a conversation back in the Unassigned queue.
 */
export type ClientUnassign = ConversationRef & {
  type: 'unassign';
};
/**
 * Close a conversation; frees its assignee's capacity.
 */
export type ClientResolve = ConversationRef & {
  type: 'resolve';
};
/**
 * Open a resolved conversation again; it is assigned like a new one.
 */
export type ClientReopen = ConversationRef & {
  type: 'reopen';
};
/**
 * Receive the agents the user may assign to, and `agent_status` and
 * `agent_removed` events afterwards (a supervisor's view).
 */
export type ClientSubscribeAgents = Bare & {
  type: 'subscribe_agents';
};
/**
 * Stop receiving `agent_status` and `agent_removed` events.
 */
export type ClientUnsubscribeAgents = Bare & {
  type: 'unsubscribe_agents';
};

/**
 * `subscribe_inbox`: the ack lists the visible conversations.
 */
export interface SubscribeInbox {
  /**
   * A personal folder (saved filter); absent: every conversation the user may see.
   */
  folder_id?: string | null;
  /**
   * Chosen by the client; the `ack` or `error` answering this frame carries it back.
   */
  ref?: string | null;
}
/**
 * `join`: the ack carries the presence, the messages and `last_seq`.
 */
export interface Join {
  /**
   * The last sequence number the client has; the ack carries what follows it.
   */
  after_seq?: number | null;
  conversation_id: string;
  /**
   * Chosen by the client; the `ack` or `error` answering this frame carries it back.
   */
  ref?: string | null;
  /**
   * Watch silently (a supervisor, `conversations.assign`): receive the
   * conversation's events without being listed among its observers and
   * without ever becoming its active responder by joining.
   */
  watch?: boolean;
}
/**
 * `take`: the ack carries the resulting presence; `locked` when someone else
 * answers (the connection stays joined, and gets the `presence` first).
 */
export interface Take {
  conversation_id: string;
  /**
   * Take the role from the current holder (owners and administrators only).
   */
  force?: boolean;
  /**
   * Chosen by the client; the `ack` or `error` answering this frame carries it back.
   */
  ref?: string | null;
}
/**
 * The shape of `release`, `leave`, `typing`, `unassign`, `resolve` and `reopen`.
 */
export interface ConversationRef {
  conversation_id: string;
  /**
   * Chosen by the client; the `ack` or `error` answering this frame carries it back.
   */
  ref?: string | null;
}
/**
 * `ping`: keeps the connection alive; nothing else happens.
 */
export interface Ping {
  /**
   * Chosen by the client; the `ack` or `error` answering this frame carries it back.
   */
  ref?: string | null;
}
/**
 * `set_availability`: only available agents are auto-assigned.
 */
export interface SetAvailability {
  /**
   * Chosen by the client; the `ack` or `error` answering this frame carries it back.
   */
  ref?: string | null;
  status: Availability;
}
/**
 * `assign`: manual assignment or transfer.
 */
export interface Assign {
  conversation_id: string;
  /**
   * Assign beyond the agent's capacity (administrators only).
   */
  force?: boolean;
  /**
   * Chosen by the client; the `ack` or `error` answering this frame carries it back.
   */
  ref?: string | null;
  /**
   * The agent who receives the conversation.
   */
  user_id: string;
}
/**
 * The shape of `subscribe_agents` and `unsubscribe_agents`: nothing but the `ref`.
 */
export interface Bare {
  /**
   * Chosen by the client; the `ack` or `error` answering this frame carries it back.
   */
  ref?: string | null;
}

/**
 * A server frame, tagged by its `type` field. (Frames are serialized as
 * soon as they are built, so the size of the largest variant costs nothing
 * worth boxing it for.)
 */
export type ServerFrame =
  | ServerWelcome
  | ServerAck
  | ServerError
  | ServerPresence
  | ServerMessage
  | ServerTyping
  | ServerConversation
  | ServerLockLost
  | ServerConversationRemoved
  | ServerAgent
  | ServerAgentStatus
  | ServerAgentRemoved;
/**
 * The first frame of every connection.
 */
export type ServerWelcome = Welcome & {
  type: 'welcome';
};
/**
 * The success answer to a client frame that carried a `ref`.
 */
export type ServerAck = Ack & {
  type: 'ack';
};
/**
 * Whether a conversation is ongoing.
 */
export type ConversationStatus = 'open' | 'resolved';
/**
 * Who wrote a message.
 */
export type Direction = 'inbound' | 'outbound';
/**
 * The failure answer to a client frame (with its `ref` when it had one).
 */
export type ServerError = ErrorFrame & {
  type: 'error';
};
/**
 * What went wrong, as a stable machine-readable code.
 */
export type ErrorCode =
  | 'bad_request'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'locked'
  | 'not_active'
  | 'conflict'
  | 'rate_limited'
  | 'seat_limit'
  | 'expired'
  | 'totp_required'
  | '2fa_required'
  | 'too_large'
  | 'unavailable'
  | 'internal';
/**
 * Who is active and who observes a joined conversation; on every change.
 */
export type ServerPresence = Presence & {
  type: 'presence';
};
/**
 * A new message in a joined conversation.
 */
export type ServerMessage = MessageEvent & {
  type: 'message';
};
/**
 * Someone else is typing in a joined conversation.
 */
export type ServerTyping = TypingEvent & {
  type: 'typing';
};
/**
 * A conversation visible to an inbox subscriber changed.
 */
export type ServerConversation = ConversationEvent & {
  type: 'conversation';
};
/**
 * The receiver is no longer the active responder of a conversation.
 */
export type ServerLockLost = LockLost & {
  type: 'lock_lost';
};
/**
 * Why the active role ended.
 */
export type LockLostReason = 'idle' | 'taken_over' | 'disconnected' | 'node_lost' | 'permission';
/**
 * The receiver may no longer see a conversation: it leaves their inbox
 * list, and a connection that had joined it has left it.
 */
export type ServerConversationRemoved = ConversationRemoved & {
  type: 'conversation_removed';
};
/**
 * Why a conversation left what a user may see.
 */
export type ConversationRemovedReason = 'permission' | 'unassigned' | 'filter';
/**
 * The receiver's own routing state changed: availability, online, load
 * or capacity. An agent's first console on a node gets one after
 * `welcome` (they came online).
 */
export type ServerAgent = AgentStatus & {
  type: 'agent';
};
/**
 * An agent the receiver may assign to changed (availability, online,
 * load or capacity), or became one the receiver may assign to; only
 * after `subscribe_agents`.
 */
export type ServerAgentStatus = AgentStatus & {
  type: 'agent_status';
};
/**
 * An agent left the ones the receiver may assign to (no longer an
 * agent, deactivated, removed, or out of the receiver's reach); only
 * after `subscribe_agents`.
 */
export type ServerAgentRemoved = AgentRemoved & {
  type: 'agent_removed';
};

/**
 * The first frame of every connection: who the server thinks you are.
 */
export interface Welcome {
  /**
   * How often the client should send something (a frame or a WebSocket ping);
   * a connection silent for twice this long is closed.
   */
  heartbeat_ms: number;
  /**
   * This connection's id.
   */
  session_id: string;
  user: WelcomeUser;
}
/**
 * The authenticated user of a connection.
 */
export interface WelcomeUser {
  account_id: string;
  id: string;
  name: string;
  /**
   * The user's role (`owner`, `admin`, `operator`, `viewer`).
   */
  role?: string | null;
}
/**
 * The success answer to a client frame with a `ref`: the ref, then the
 * result fields of that frame at the top level.
 */
export interface Ack {
  /**
   * `set_availability`, `subscribe_inbox` (agents): the user's routing state now.
   */
  agent?: AgentStatus | null;
  /**
   * `subscribe_agents`: the agents the user may assign to, by name.
   */
  agents?: AgentStatus[] | null;
  /**
   * `join` with `after_seq`: false when more messages remain after the last one returned.
   */
  complete?: boolean | null;
  /**
   * `assign`, `unassign`, `resolve`, `reopen`: the conversation as it is now.
   */
  conversation?: Summary | null;
  /**
   * `subscribe_inbox`: the visible conversations.
   */
  conversations?: Summary[] | null;
  /**
   * `join`: the conversation's newest sequence number.
   */
  last_seq?: number | null;
  /**
   * `send`: the stored message.
   */
  message?: Message | null;
  /**
   * `join`: the messages after `after_seq`, or the most recent ones.
   */
  messages?: Message[] | null;
  /**
   * `join`, `take`, `release`, `leave`: the resulting presence.
   */
  presence?: Presence | null;
  /**
   * The `ref` of the client frame this answers.
   */
  ref: string;
}
/**
 * An agent's routing state: the agent's own (`agent`), or one a
 * supervisor may assign to (`agent_status`, `subscribe_agents`).
 */
export interface AgentStatus {
  /**
   * Only available agents are auto-assigned.
   */
  availability: 'available' | 'away';
  /**
   * The most auto-assigned at once (0: never auto-assigned).
   */
  capacity: number;
  /**
   * Open conversations assigned to the agent now.
   */
  load: number;
  /**
   * The agent's display name.
   */
  name: string;
  /**
   * A console is open on some node (or within the disconnect grace).
   */
  online: boolean;
  user_id: string;
}
/**
 * A conversation's card in the inbox list.
 */
export interface Summary {
  /**
   * The active responder right now ("Answered by"), if any.
   */
  answered_by: UserRef | null;
  /**
   * The agent the conversation is assigned to, if any.
   */
  assignee: UserRef | null;
  contact: Contact;
  id: string;
  inbox_id: string;
  last_message_at: string | null;
  /**
   * The sequence number of the newest message (0 when there is none).
   */
  last_seq: number;
  /**
   * 1-based position in the Unassigned queue while the conversation waits there.
   */
  queue_position: number | null;
  status: ConversationStatus;
}
/**
 * A user as others see them: who is active, who observes, who wrote.
 */
export interface UserRef {
  name: string;
  user_id: string;
}
/**
 * The customer on the other side of a conversation.
 */
export interface Contact {
  /**
   * The channel address: a phone number, a page-scoped id, a web chat visitor id.
   */
  handle: string;
  id: string;
  name: string | null;
}
/**
 * One message of a conversation.
 */
export interface Message {
  /**
   * The agent who wrote an outbound message; null for inbound messages.
   */
  author: UserRef | null;
  /**
   * Null when the receiver may not see message bodies.
   */
  body: string | null;
  conversation_id: string;
  created_at: string;
  direction: Direction;
  id: string;
  /**
   * Gap-free per conversation, starting at 1.
   */
  seq: number;
}
/**
 * Who is looking at a conversation and who answers it.
 */
export interface Presence {
  /**
   * The active responder, or null ("Start chatting" for observers).
   */
  active: UserRef | null;
  conversation_id: string;
  /**
   * The fencing epoch of the active responder's grant (present with
   * `active`): the same on every node, and new with every grant.
   */
  epoch?: number | null;
  /**
   * Everyone else viewing it, each user once, never the active responder.
   */
  observers: UserRef[];
  /**
   * Grows with every change; a client may drop a presence older than one it has.
   * Counted by each node on its own: compare versions from one connection only.
   */
  version: number;
}
/**
 * The failure answer to a client frame; more fields appear depending on `code`.
 */
export interface ErrorFrame {
  /**
   * `locked`: who answers the conversation.
   */
  answered_by?: UserRef | null;
  /**
   * `forbidden` for an assignment beyond capacity: the agent's capacity.
   */
  capacity?: number | null;
  code: ErrorCode;
  /**
   * `forbidden` for an assignment beyond capacity: the agent's load now.
   */
  load?: number | null;
  /**
   * `too_large`: the limit that was exceeded.
   */
  max_bytes?: number | null;
  /**
   * A human-readable explanation, lowercase.
   */
  message: string;
  /**
   * The `ref` of the client frame this answers; absent when it had none.
   */
  ref?: string | null;
  /**
   * `rate_limited`: how long to wait before the next frame.
   */
  retry_after_ms?: number | null;
}
/**
 * A message was stored in a joined conversation.
 */
export interface MessageEvent {
  conversation_id: string;
  message: Message;
}
/**
 * Another user is typing in a joined conversation.
 */
export interface TypingEvent {
  conversation_id: string;
  user_id: string;
}
/**
 * The new state of a conversation's card in the inbox list.
 */
export interface ConversationEvent {
  conversation: Summary;
}
/**
 * The receiver is no longer the active responder of a conversation.
 */
export interface LockLost {
  conversation_id: string;
  reason: LockLostReason;
}
/**
 * A conversation left the receiver's list. An inbox subscriber drops its
 * card. With reason `permission` or `unassigned` the receiver may no longer
 * see it: a connection that had joined it has left it, and no more events
 * for it arrive. With reason `filter` it only left the folder the
 * subscription follows.
 */
export interface ConversationRemoved {
  conversation_id: string;
  reason: ConversationRemovedReason;
}
/**
 * An agent left the ones the receiver may assign to.
 */
export interface AgentRemoved {
  user_id: string;
}
