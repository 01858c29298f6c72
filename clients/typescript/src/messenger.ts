/**
 * The messenger's three states of a conversation for the signed-in user, as
 * the console shows them: answering it (`active`: the input), someone else
 * answers (`answered_by`: "Answered by Ann" in place of the input), or
 * nobody does (`start_chatting`: the button).
 */
import type { Presence, UserRef } from './frames.js';

export type MessengerRole =
  | { kind: 'active' }
  | { kind: 'answered_by'; user: UserRef }
  | { kind: 'start_chatting' };

/** The role `me` has in a conversation with this presence. */
export function messengerRole(presence: Presence, me: string): MessengerRole {
  if (!presence.active) return { kind: 'start_chatting' };
  if (presence.active.user_id === me) return { kind: 'active' };
  return { kind: 'answered_by', user: presence.active };
}

/** Whether two roles show the same thing. */
export function sameRole(a: MessengerRole | null, b: MessengerRole | null): boolean {
  if (a === null || b === null) return a === b;
  if (a.kind !== b.kind) return false;
  return a.kind !== 'answered_by' || (b.kind === 'answered_by' && a.user.user_id === b.user.user_id);
}
