/**
 * Why a request failed: the server's `error` frame (its `code` and the
 * fields that come with it), or the client's own reason when no answer
 * could come (`timeout`, `disconnected`, `offline`, `closed`).
 */
import type { ErrorCode, ErrorFrame, UserRef } from './frames.js';

/** The client's own failure codes, beside the server's. */
export type ClientErrorCode = 'timeout' | 'disconnected' | 'offline' | 'closed';

export class SwitchboardError extends Error {
  readonly code: ErrorCode | ClientErrorCode;
  /** `rate_limited`: how long to wait before the next frame. */
  readonly retryAfterMs?: number;
  /** `locked`: who answers the conversation. */
  readonly answeredBy?: UserRef;
  /** `too_large`: the limit that was exceeded. */
  readonly maxBytes?: number;
  /** `forbidden` beyond capacity: the agent's load and capacity. */
  readonly load?: number;
  readonly capacity?: number;

  constructor(code: ErrorCode | ClientErrorCode, message: string, details: Partial<ErrorFrame> = {}) {
    super(message);
    this.name = 'SwitchboardError';
    this.code = code;
    this.retryAfterMs = details.retry_after_ms ?? undefined;
    this.answeredBy = details.answered_by ?? undefined;
    this.maxBytes = details.max_bytes ?? undefined;
    this.load = details.load ?? undefined;
    this.capacity = details.capacity ?? undefined;
  }

  /** The error a server `error` frame stands for. */
  static fromFrame(frame: ErrorFrame): SwitchboardError {
    return new SwitchboardError(frame.code, frame.message, frame);
  }

  /** Whether the request never reached an answer (it may be retried). */
  get unanswered(): boolean {
    return this.code === 'timeout' || this.code === 'disconnected' || this.code === 'offline';
  }
}
