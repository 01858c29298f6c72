/** Words a card or a message shows; pure, so they are easy to test. */
import type { Summary } from '@switchboard/client';

export const contactName = (summary: Summary): string => summary.contact.name || summary.contact.handle;

export const assigneeText = (summary: Summary): string =>
  summary.assignee ? `Assigned to ${summary.assignee.name}` : 'Unassigned';

export const queueText = (summary: Summary): string | null =>
  summary.queue_position != null ? `#${summary.queue_position} in queue` : null;

/** A body the viewer may not read arrives as null. */
export const bodyText = (body: string | null | undefined): string => body ?? 'Message hidden';

/**
 * Summaries carry no body: the preview is the last message this console saw for the
 * conversation (null body: hidden), else when the last message came.
 */
export function previewOf(summary: Summary, lastSeen: { body: string | null } | undefined): string {
  if (lastSeen) return bodyText(lastSeen.body);
  if (summary.last_seq === 0) return 'No messages yet';
  return summary.last_message_at ? `Last message ${new Date(summary.last_message_at).toLocaleString()}` : 'Messages';
}
