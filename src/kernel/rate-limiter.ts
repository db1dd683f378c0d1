/**
 * A call-rate limiter over sliding windows: at most `limit` calls in any `windowMs`. Callers await
 * `acquire()` before each call and are let through in order. Used where a platform blocks a whole
 * account for the rest of the window once a rate is exceeded (WeCom blocks for 60 s after a
 * per-minute breach), so staying under the rate is cheaper than retrying.
 */

export interface RateWindow {
  limit: number;
  windowMs: number;
}

export interface RateLimiterOptions {
  windows: RateWindow[];
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export class CallRateLimiter {
  readonly #windows: Array<{ windowMs: number; times: Float64Array; head: number; count: number }>;
  readonly #now: () => number;
  readonly #sleep: (ms: number) => Promise<void>;
  #tail: Promise<void> = Promise.resolve();

  constructor(options: RateLimiterOptions) {
    if (options.windows.length === 0) throw new Error('a rate limiter needs at least one window');
    this.#windows = options.windows.map(({ limit, windowMs }) => {
      if (!(Number.isInteger(limit) && limit > 0 && windowMs > 0)) throw new Error(`invalid rate window: ${limit} per ${windowMs} ms`);
      return { windowMs, times: new Float64Array(limit), head: 0, count: 0 };
    });
    this.#now = options.now ?? Date.now;
    this.#sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  /** Resolves when one more call fits in every window, and counts that call. */
  acquire(): Promise<void> {
    const turn = this.#tail.then(() => this.#take());
    this.#tail = turn.catch(() => undefined);
    return turn;
  }

  /**
   * Counts `cost` calls (e.g. the events of a batch) now if they fit in every window and returns 0;
   * otherwise counts nothing and returns the milliseconds until they would fit (an HTTP Retry-After).
   * A cost above a window's limit costs the whole window (it fits only into an empty one). For
   * callers that refuse rather than wait; do not mix with `acquire()` on one limiter.
   */
  tryAcquire(cost = 1): number {
    const wait = this.#wait(this.#now(), cost);
    if (wait > 0) return wait;
    const now = this.#now();
    for (let i = 0; i < Math.min(cost, Math.max(...this.#windows.map((w) => w.times.length))); i++) this.#record(now);
    return 0;
  }

  /** Milliseconds until `cost` more calls fit in every window (0: now). */
  #wait(now: number, cost = 1): number {
    return Math.max(
      ...this.#windows.map((w) => {
        const need = Math.min(cost, w.times.length);
        const over = w.count + need - w.times.length; // the oldest calls that must leave first
        return over <= 0 ? 0 : w.times[(w.head + over - 1) % w.times.length] + w.windowMs - now;
      }),
    );
  }

  async #take(): Promise<void> {
    for (;;) {
      const wait = this.#wait(this.#now());
      if (wait <= 0) break;
      await this.#sleep(wait);
    }
    this.#record(this.#now());
  }

  #record(now: number): void {
    for (const w of this.#windows) {
      if (w.count < w.times.length) {
        w.times[(w.head + w.count) % w.times.length] = now;
        w.count++;
      } else {
        // Full: the oldest call has left the window; its slot takes this one.
        w.times[w.head] = now;
        w.head = (w.head + 1) % w.times.length;
      }
    }
  }
}
