/** Where time comes from; tests inject a manual clock so "after 24h" takes no time. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** A clock tests move by hand. */
export class ManualClock implements Clock {
  constructor(private t = Date.parse("2026-01-01T00:00:00Z")) {}
  now(): number {
    return this.t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
  set(ms: number): void {
    this.t = ms;
  }
}

/**
 * A timer may fire up to ~1.5 ms before its delay has passed on performance.now() (libuv counts
 * whole milliseconds from the loop's cached time): a wake-up for a due time waits this much more,
 * so it never looks just before the time and then sleeps a whole idle period (seen in CI: -1.3 ms).
 */
export const TIMER_SLACK_MS = 2;
