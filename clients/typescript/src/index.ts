/**
 * `@switchboard/client`: a typed WebSocket client for Switchboard consoles.
 * See README.md for how it connects, resumes and reports the messenger's states.
 */
export { SwitchboardClient } from './client.js';
export type {
  ClientEvents,
  ClientOptions,
  ConnectionState,
  JoinResult,
  SocketFactory,
  SocketLike,
} from './client.js';
export { SwitchboardError } from './errors.js';
export type { ClientErrorCode } from './errors.js';
export { messengerRole, sameRole } from './messenger.js';
export type { MessengerRole } from './messenger.js';
export { Backoff, DEFAULT_BACKOFF } from './backoff.js';
export type { BackoffOptions } from './backoff.js';
export type * from './frames.js';
