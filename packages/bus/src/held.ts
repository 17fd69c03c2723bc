import type { JsMsg } from "@nats-io/jetstream";

/**
 * The messages a consumer holds: pulled into a free slot, then kept alive until handled.
 *
 * How ack wait and pull size depend on each other: a message is redelivered when the server
 * has not heard of it for one ack wait. A consumer that pulls more than it can start at once
 * keeps a buffer that drains at its handling rate, so it needs pull / rate < ack wait; under
 * load the rate falls, the buffer times out, the redeliveries slow it further (issue 25: 32
 * pulled, 16 kept alive, a 1 s ack wait). Here the pull size is the free slots, so every
 * message held is in progress; one timer sends +WPI every quarter of the ack wait for each
 * message not heard of for a quarter, so the server hears of each within half the ack wait
 * (a stall of the event loop up to half of it is survived), and a message handled in under a
 * quarter costs no +WPI at all. The ack wait then bounds only how soon the messages of a
 * process that died come back, not how many may be pulled.
 */
export class HeldMessages {
  /** Each held message and when the server last heard of it (delivery or +WPI). */
  private readonly held = new Map<JsMsg, number>();
  private readonly waiters: (() => void)[] = [];
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  readonly keepAliveMs: number;

  constructor(
    /** The most messages held at once: the consumer's concurrency. */
    readonly capacity: number,
    /** The ack wait the server applies to a first delivery (see effectiveAckWaitMs). */
    ackWaitMs: number,
  ) {
    this.keepAliveMs = Math.max(50, Math.floor(ackWaitMs / 4));
  }

  get size(): number {
    return this.held.size;
  }

  /** Slots a pull may fill now. */
  get free(): number {
    return this.capacity - this.held.size;
  }

  hold(m: JsMsg): void {
    this.held.set(m, performance.now());
    if (!this.timer) {
      this.timer = setInterval(() => this.keepAlive(), this.keepAliveMs);
      this.timer.unref();
    }
  }

  /** The message was acked, nak'd or terminated (or its handler failed): its slot is free. */
  release(m: JsMsg): void {
    if (!this.held.delete(m)) return;
    if (this.held.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
    if (this.free >= 1) for (const wake of this.waiters.splice(0)) wake();
  }

  /** Resolves once at least `slots` are free (or at once when stopped). */
  async whenFree(slots: number): Promise<void> {
    while (!this.stopped && this.free < slots) await new Promise<void>((r) => this.waiters.push(r));
  }

  private keepAlive(): void {
    const now = performance.now();
    for (const [m, heard] of this.held) {
      if (now - heard < this.keepAliveMs) continue;
      try {
        m.working();
      } catch {
        // closed connection: the message comes back to whoever holds the consumer next
      }
      this.held.set(m, now);
    }
  }

  /** Wakes whoever waits for a slot; the messages still held stay kept alive until released. */
  stop(): void {
    this.stopped = true;
    for (const wake of this.waiters.splice(0)) wake();
  }

  /** After every handler has finished. */
  dispose(): void {
    this.stop();
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.held.clear();
  }
}
