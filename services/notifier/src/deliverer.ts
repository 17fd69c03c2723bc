import { randomUUID } from "node:crypto";
import { type Bus, withTraceContext } from "@mirror/bus";
import { type NotifyOutcome, notifyFailed, notifySent, subjectToken } from "@mirror/contracts";
import type { Clock } from "@mirror/kit";
import type { Logger } from "pino";
import { retryDelay } from "./backoff.js";
import type { ChannelSender, SendResult } from "./channels/index.js";
import type { AttemptRecord, DeliveryLog } from "./delivery-log.js";
import type { NotifyMetrics } from "./metrics.js";
import type { CommitClaim, Delivery, NotifierStore } from "./store.js";

export interface DeliverDeps {
  store: NotifierStore;
  channels: Map<string, ChannelSender>;
  bus: Bus;
  clock: Clock;
  log: Logger;
  metrics: NotifyMetrics;
  maxAttempts: number;
  backoffMs: number;
  maxBackoffMs: number;
  rateLimits: Map<string, { max: number; per: number }>;
  random?: () => number;
  /** Where each attempt's outcome is kept for `mirror.notifier.deliveries` (the console's Notifications page). */
  deliveryLog?: DeliveryLog;
}

/** How long a process may take to publish a receipt before another process publishes it instead. */
const RECEIPT_LEASE_MS = 5_000;
/** Claim time a send has past its channel's timeout (the fencing margin); at least twice the longest stall tolerated before a send. */
const SEND_MARGIN_MS = 5_000;
/** Deliveries claimed per round of a tick. */
const CLAIM_BATCH = 50;
/**
 * Attempts running at once at most; what is due beyond them waits, claimed by nobody, for the
 * next tick. A tick that claimed one batch only capped deliveries at 50 per tick, and a tick
 * slows down when the process is busy, which is when the most are due.
 */
const MAX_IN_FLIGHT = 1_000;

/** When this process asked for a claim (performance.now()) and for how long the server holds it (ms). */
interface FreshClaim {
  asked: number;
  lease: number;
}

/** A claim taken with the commit that created a delivery: who holds it, for how long, since when. */
export type SendClaim = CommitClaim & FreshClaim;

/** Sends owed deliveries: each channel on its own, retrying with backoff, receipts on the bus. */
export class Deliverer {
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly stopping = new AbortController();
  /** Set when stop() begins: a delivery claimed by a commit from then on is given back, not started. */
  private closing = false;
  constructor(private readonly deps: DeliverDeps) {}

  /**
   * Claims due deliveries, a batch at a time until fewer than a batch are due or MAX_IN_FLIGHT
   * attempts run, and starts them; does not wait for them (a slow channel blocks no other).
   * Returns how many it started.
   */
  async runDue(): Promise<number> {
    const { store, clock } = this.deps;
    const lease = this.lease();
    let started = 0;
    for (;;) {
      const room = Math.min(CLAIM_BATCH, MAX_IN_FLIGHT - this.inFlight.size);
      if (room <= 0) break;
      const asked = performance.now();
      const claimed = await store.claimDeliveries(clock.now(), lease, room);
      for (const { id, delivery, token } of claimed) if (this.start(id, delivery, token, { asked, lease })) started++;
      if (claimed.length < room) break;
    }
    return started;
  }

  /** How long a claim is held: it outlives the slowest send by a margin; after a crash another process takes it back then. */
  private lease(): number {
    return Math.max(0, ...[...this.deps.channels.values()].map((c) => c.timeoutMs)) + SEND_MARGIN_MS;
  }

  /** A claim to ask for with the commit that creates a delivery (NotifierStore.commitGroup). */
  newClaim(): SendClaim {
    return { token: randomUUID(), lease: this.lease(), asked: performance.now() };
  }

  /**
   * Starts the attempt of a delivery its commit claimed with `claim` (from newClaim()); past
   * MAX_IN_FLIGHT, or once stopping, gives the claim back instead (returns false).
   */
  startClaimed(d: Delivery, claim: SendClaim): boolean {
    if (!this.closing && this.inFlight.size < MAX_IN_FLIGHT) return this.start(d.id, d, claim.token, claim);
    // Given back at once (due now, unclaimed), so a tick here or another replica takes it
    // without waiting for the lease to lapse.
    void this.deps.store
      .saveClaimed(d, this.deps.clock.now(), claim.token)
      .catch((err) => this.deps.log.warn({ err, deliveryId: d.id }, "could not give a claim back; it lapses"));
    return false;
  }

  private start(id: string, delivery: Delivery | undefined, token: string, claim: FreshClaim): boolean {
    if (this.inFlight.has(id)) return false;
    const p = this.attempt(delivery, token, claim)
      .catch((err) =>
        this.deps.log.error({ err, deliveryId: id }, "delivery attempt failed unexpectedly; it will be retried"),
      )
      .finally(() => this.inFlight.delete(id));
    this.inFlight.set(id, p);
    return true;
  }

  /** Waits for the attempts in flight (tests). */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight.values()]);
  }

  /** Stops: attempts still in flight after `graceMs` are aborted and left to their lapsing claim. */
  async stop(graceMs = 1_500): Promise<void> {
    this.closing = true;
    const grace = new Promise<void>((r) => setTimeout(r, graceMs).unref());
    await Promise.race([this.idle(), grace]);
    this.stopping.abort();
    // An aborted send returns at once; what it awaits after (the store, a receipt) is bounded by the caller's stop budget.
    await this.idle();
  }

  private async attempt(d: Delivery | undefined, token: string, claim: FreshClaim): Promise<void> {
    const { store, clock } = this.deps;
    if (!d) return;
    if (d.state === "sent") return this.finish(d, "sent");
    if (d.state === "failed") return this.finish(d, "failed");
    const channel = this.deps.channels.get(d.channel);
    if (!channel) return this.giveUp(d, `channel "${d.channel}" is no longer configured`, token);
    const limitedUntil = await this.rateLimited(d.channel);
    if (limitedUntil !== null) {
      this.deps.metrics.deliveries.inc({ channel: d.channel, outcome: "rate_limited" });
      await store.saveClaimed(d, limitedUntil, token);
      return;
    }
    if (!(await this.holdForSend(d, token, channel.timeoutMs, claim))) return;
    const attempt = d.attempt + 1;
    const started = performance.now();
    const send = () => channel.send(d.message, { id: d.id, attempt, sentAt: Date.now(), signal: this.stopping.signal });
    const result = await withTraceContext(d.trace, send).catch(
      (err): SendResult => ({ ok: false, retryable: true, error: `send failed: ${(err as Error).message}` }),
    );
    if (this.stopping.signal.aborted && !result.ok) return;
    this.deps.metrics.seconds.observe({ channel: d.channel }, (performance.now() - started) / 1000);
    const next: Delivery = { ...d, attempt, lastError: result.ok ? null : result.error };
    if (result.ok) {
      this.deps.metrics.deliveries.inc({ channel: d.channel, outcome: "sent" });
      // Only the receipt is owed now; if this process dies before it is published, another takes it over soon.
      // The log entry goes in the same round trip (it is for people: its failure holds nothing up).
      await Promise.all([
        store.markSent(d.id, attempt, clock.now() + RECEIPT_LEASE_MS),
        this.logAttempt({ delivery: d, outcome: "sent", attempts: attempt, at: clock.now() }),
      ]);
      return this.finish({ ...next, state: "sent" }, "sent");
    }
    if (result.retryable && attempt < this.deps.maxAttempts) {
      const delay = retryDelay(
        attempt,
        result.retryAfterMs,
        this.deps.backoffMs,
        this.deps.maxBackoffMs,
        this.deps.random,
      );
      this.deps.metrics.deliveries.inc({ channel: d.channel, outcome: "retry" });
      this.deps.log.warn(
        { deliveryId: d.id, channel: d.channel, attempt, delayMs: delay, error: result.error },
        "delivery failed; will retry",
      );
      await this.logAttempt({
        delivery: d,
        outcome: "retried",
        attempts: attempt,
        at: clock.now(),
        error: result.error,
        nextAttemptAt: clock.now() + delay,
      });
      await store.saveClaimed(next, clock.now() + delay, token);
      return;
    }
    return this.giveUp(next, result.error, token);
  }

  /**
   * The fencing check before a send: the claim must still be this attempt's, and is extended
   * (in the server's time) past the channel's timeout with a margin, so no other replica can
   * claim the delivery while this send may still run. If the check itself took more than half
   * the margin (a stalled process), the lease may be too short for the send: it is not sent now.
   */
  private async holdForSend(d: Delivery, token: string, timeoutMs: number, claim: FreshClaim): Promise<boolean> {
    // A claim asked for moments ago needs no hold: the server set it after `claim.asked`, for
    // `claim.lease` (the longest channel timeout + SEND_MARGIN_MS), so it holds past this send's
    // timeout by at least half the margin, as a hold that came back in time does. One Redis round
    // trip fewer per delivery; a send that waited (a rate limit, a busy process) is held as before.
    const sinceClaim = performance.now() - claim.asked;
    if (sinceClaim <= SEND_MARGIN_MS / 2 && claim.lease - sinceClaim >= timeoutMs + SEND_MARGIN_MS / 2) return true;
    const asked = performance.now();
    const held = await this.deps.store.holdClaim(d.id, token, timeoutMs + SEND_MARGIN_MS);
    const late = performance.now() - asked > SEND_MARGIN_MS / 2;
    if (held && !late) return true;
    this.deps.metrics.deliveries.inc({ channel: d.channel, outcome: "claim_lost" });
    this.deps.log.warn(
      { deliveryId: d.id, channel: d.channel, held },
      "claim lost or too old to send on; another attempt takes the delivery",
    );
    return false;
  }

  private async giveUp(d: Delivery, error: string, token: string): Promise<void> {
    this.deps.metrics.deliveries.inc({ channel: d.channel, outcome: "failed" });
    this.deps.log.error(
      { deliveryId: d.id, channel: d.channel, attempt: d.attempt, error },
      "delivery failed for good",
    );
    const failed: Delivery = { ...d, state: "failed", lastError: error };
    await this.logAttempt({ delivery: d, outcome: "failed", attempts: d.attempt, at: this.deps.clock.now(), error });
    if (!(await this.deps.store.saveClaimed(failed, this.deps.clock.now() + RECEIPT_LEASE_MS, token))) return;
    return this.finish(failed, "failed");
  }

  /** Publishes the receipt (stable id: a repeat is de-duplicated) and forgets the delivery. */
  private async finish(d: Delivery, outcome: "sent" | "failed"): Promise<void> {
    const receipt: NotifyOutcome = {
      channel: d.channel,
      groupKey: d.message.groupKey,
      status: d.message.status,
      loopIds: d.message.alerts.map((a) => a.fingerprint),
      deliveryId: d.id,
      attempt: Math.max(1, d.attempt),
      at: new Date(this.deps.clock.now()).toISOString(),
      error: outcome === "failed" ? d.lastError : null,
    };
    const contract = outcome === "sent" ? notifySent : notifyFailed;
    await this.deps.bus.publish(contract, subjectToken(d.channel), receipt, { id: `notify:${d.id}:${outcome}` });
    await this.deps.store.finishDelivery(d, this.deps.clock.now());
  }

  /** Keeps an attempt in the delivery log; the log is for people, so a failure to write it never holds up a delivery. */
  private async logAttempt(r: AttemptRecord): Promise<void> {
    await this.deps.deliveryLog
      ?.record(r)
      .catch((err) => this.deps.log.warn({ err, deliveryId: r.delivery.id }, "could not write the delivery log"));
  }

  /** Fixed-window rate limit shared by all replicas; returns when the window ends if over the limit. */
  private async rateLimited(channel: string): Promise<number | null> {
    const limit = this.deps.rateLimits.get(channel);
    if (!limit) return null;
    const now = this.deps.clock.now();
    const window = Math.floor(now / limit.per);
    const count = await this.deps.store.countInWindow(channel, window, limit.per * 2);
    return count > limit.max ? (window + 1) * limit.per : null;
  }
}
