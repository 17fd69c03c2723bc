import type { Logger } from "pino";
import type { LiveHub } from "./live.js";

/** A feed the console can start and stop (a Bus.watch subscription). */
export interface Startable {
  start(): void;
  stop(): void;
}

/** How long the feeds outlive the last page that watched them: a reload or a page change keeps them. */
export const LIVE_GRACE_MS = 30_000;

/**
 * Runs the console's live feeds (loop events, delivery receipts) only while a page watches:
 * they start when the hub gets its first subscriber and stop `graceMs` after the last one left.
 * With nobody watching the console receives none of those events (they were 1.6–2.2 ms of its
 * CPU per event under load, issue 25). A (re)start marks a gap in the hub, so a page that
 * reconnects from before it is told to fetch its content again rather than trust a replay.
 */
export class LiveFeeds {
  private on = false;
  private leftAt: number | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly o: {
      hub: LiveHub;
      feeds: readonly Startable[];
      now: () => number;
      graceMs?: number;
      log?: Logger;
    },
  ) {
    o.hub.onWatchers((n) => this.watchers(n));
  }

  get running(): boolean {
    return this.on;
  }

  private get graceMs(): number {
    return this.o.graceMs ?? LIVE_GRACE_MS;
  }

  private watchers(n: number): void {
    if (n > 0) {
      this.leftAt = undefined;
      clearTimeout(this.timer);
      this.timer = undefined;
      if (!this.on) this.start();
      return;
    }
    this.leftAt = this.o.now();
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.sweep(), this.graceMs);
    this.timer.unref();
  }

  private start(): void {
    this.on = true;
    this.o.hub.gap();
    for (const f of this.o.feeds) f.start();
    this.o.log?.debug("live feeds started: a page is watching");
  }

  /** Stops the feeds once nobody has watched for the grace period (the timer calls it; tests too, after moving the clock). */
  sweep(): void {
    if (!this.on || this.leftAt === undefined) return;
    const left = this.graceMs - (this.o.now() - this.leftAt);
    if (left > 0) {
      // A timer that fired early, or a clock moved by hand: look again when the grace is over.
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.sweep(), left);
      this.timer.unref();
      return;
    }
    this.stop();
    this.o.log?.debug("live feeds stopped: no page watching");
  }

  /** Stops the feeds now (the console stopping). */
  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.on) return;
    this.on = false;
    for (const f of this.o.feeds) f.stop();
  }
}
