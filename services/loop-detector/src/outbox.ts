import { type Bus, withTraceContext } from "@mirror/bus";
import { hasErrorCode, loopClosed, loopOpened, loopUpdated } from "@mirror/contracts";
import type { Logger } from "pino";
import type { LoopStore, OutboxEntry } from "./store.js";

const CONTRACTS = { opened: loopOpened, updated: loopUpdated, closed: loopClosed } as const;

/** Published ids cleared from the outbox at once, and how long one waits for others at most. */
const CLEAR_BATCH = 256;
const CLEAR_AFTER_MS = 20;

/**
 * Publishes loop events that were stored together with their transition, then clears them (in
 * batches, a few milliseconds later). A crash between the two leaves them stored; drain()
 * publishes them again with the same Nats-Msg-Id, so JetStream drops what already went out.
 */
export class Outbox {
  private draining: Promise<void> | undefined;
  /** Published ids not cleared yet: cleared together (two commands for a batch, not for each). */
  private published: string[] = [];
  private clearTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: LoopStore,
    private readonly bus: Bus,
    private readonly log: Logger,
  ) {}

  /**
   * Clears published entries now. Until then a crash leaves them stored and drain() publishes them
   * again with the same Nats-Msg-Id (JetStream drops the repeat; consumers ignore an old rev).
   */
  async clear(): Promise<void> {
    clearTimeout(this.clearTimer);
    this.clearTimer = undefined;
    const ids = this.published.splice(0);
    if (ids.length)
      await this.store
        .outboxDone(ids)
        .catch((err) =>
          this.log.warn({ err: (err as Error).message }, "outbox not cleared; events will be re-sent with the same id"),
        );
  }

  /** Queues published ids for the next clear(): at once when a batch is full, else after CLEAR_AFTER_MS. */
  private clearLater(ids: string[]): void {
    this.published.push(...ids);
    if (this.published.length >= CLEAR_BATCH) void this.clear();
    else if (this.published.length && !this.clearTimer) {
      this.clearTimer = setTimeout(() => void this.clear(), CLEAR_AFTER_MS);
      this.clearTimer.unref();
    }
  }

  /** Publishes entries in order; stops at the first failure and leaves the rest for drain(). */
  async publish(entries: OutboxEntry[]): Promise<number> {
    const done: string[] = [];
    try {
      for (const e of entries) {
        try {
          await withTraceContext(e.trace, () =>
            this.bus.publish(CONTRACTS[e.event], e.token, e.data, { id: e.id, time: e.data.loop.updatedAt }),
          );
        } catch (err) {
          // An event too large for the server can never go out; kept, it would block every later one forever.
          if (!hasErrorCode(err, "MIRROR_ERR_TOO_LARGE")) throw err;
          this.log.error(
            { err: (err as Error).message, loopId: e.token, event: e.event },
            "loop event too large to publish; dropped from the outbox",
          );
        }
        done.push(e.id);
      }
    } catch (err) {
      this.log.warn(
        { err: (err as Error).message, pending: entries.length - done.length },
        "loop event not published yet; kept in the outbox",
      );
    } finally {
      this.clearLater(done);
    }
    return done.length;
  }

  /** Publishes what an earlier run (or a crashed writer) left behind. `minAgeMs` leaves fresh entries to their writer. */
  drain(minAgeMs = 0): Promise<void> {
    this.draining ??= this.drainOnce(minAgeMs).finally(() => {
      this.draining = undefined;
    });
    return this.draining;
  }

  private async drainOnce(minAgeMs: number): Promise<void> {
    for (;;) {
      // What went out is cleared first: the batch below must not read it again.
      await this.clear();
      const batch = await this.store.outboxBatch(100);
      const old = batch.filter((e) => Date.now() - e.at >= minAgeMs);
      if (old.length === 0) return;
      const sent = await this.publish(old);
      if (sent < old.length || old.length < batch.length) return;
    }
  }
}
