/**
 * Reconnection delays: exponential backoff with full jitter (a uniformly
 * random delay between 0 and the current ceiling), so that thousands of
 * consoles dropped together do not come back together.
 */
export interface BackoffOptions {
  /** The first ceiling (ms). */
  initialMs: number;
  /** The largest ceiling (ms). */
  maxMs: number;
  /** How much the ceiling grows after each failed attempt. */
  factor: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 500, maxMs: 15_000, factor: 2 };

export class Backoff {
  private attempt = 0;

  constructor(
    private readonly options: BackoffOptions,
    private readonly random: () => number = Math.random,
  ) {}

  /** The ceiling of the next delay. */
  ceiling(): number {
    const { initialMs, maxMs, factor } = this.options;
    return Math.min(maxMs, initialMs * factor ** this.attempt);
  }

  /** The next delay (ms), at least `floorMs`; the ceiling grows for the one after. */
  next(floorMs = 0): number {
    const delay = Math.floor(this.random() * this.ceiling());
    this.attempt += 1;
    return Math.max(floorMs, delay);
  }

  /** A connection held: start again from the first ceiling. */
  reset(): void {
    this.attempt = 0;
  }
}
