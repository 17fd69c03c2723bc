import { type Bus, traceCarrier, withTraceContext } from "@mirror/bus";
import { type Loop, modelTriage, type TriageReply } from "@mirror/contracts";
import type { Clock } from "@mirror/kit";
import type { Logger } from "pino";
import type { Engine } from "./engine.js";
import type { EntityState, Mutation } from "./state.js";
import type { LoopStore } from "./store.js";
import { FOLD_WAIT_MS, type TriageFolding } from "./triage-fold.js";

export interface TriageDeps {
  bus: Bus;
  engine: Engine;
  store: LoopStore;
  clock: Clock;
  log: Logger;
  timeoutMs: number;
  retryMs: number;
  historyLimit: number;
  onOutcome?: (outcome: "ok" | "failed") => void;
}

/** Model adapters answer a few requests at once (model.*.maxConcurrency); more would only time out. */
const MAX_IN_FLIGHT = 4;
/**
 * Requests in flight that askNow() may reach once the model has answered within half the fold
 * wait: as many as the snapshot consumer holds at once (ConsumeOptions.concurrency), so every
 * opening of a burst can carry its answer. Capped at MAX_IN_FLIGHT, a burst of 16 openings
 * folded 4 and sent 12 as `opened` + `updated` (pnpm bench: 11.5 NATS messages and 101 Redis
 * commands per event, against 8.5 and 65 with this). A slow model (an LLM) is not asked here.
 */
const MAX_FOLD_IN_FLIGHT = 16;

/**
 * Asks `mirror.model.triage` about each opened loop. No adapter, a timeout or a bad reply
 * never blocks the loop: it stays with `triage: null` (pending) and is asked again later,
 * with a doubling delay (up to 16x `loops.triageRetry`).
 */
export class Triager implements TriageFolding {
  private readonly inFlight = new Set<Promise<void>>();
  private readonly waiting: Loop[] = [];
  /** Answers of askNow() requests that are stored as `updated` (follow()). */
  private readonly following = new Set<Promise<void>>();
  /** How long the model took to answer lately (ms, moving average). */
  private answerMs = 0;
  /** Answers received: until the first, the model is not known to be fast. */
  private answers = 0;
  /** Trace of the event that opened each loop: a request sent later (queued, retried) joins it. */
  private readonly traces = new Map<string, Record<string, string>>();

  constructor(private readonly deps: TriageDeps) {}

  /**
   * Starts triage of `loop` in the background; a burst of new loops is asked a few at a time.
   * The commit that opened the loop also wrote its retry entry, as a lease: if this process dies
   * before the answer is stored, the tick (of any replica) asks again when it expires.
   */
  start(loop: Loop): void {
    const trace = traceCarrier();
    if (trace) this.traces.set(loop.id, trace);
    this.waiting.push(loop);
    this.pump();
  }

  /**
   * Asks about `loop` now, if a request slot is free (ahead of loops queued by start(): their
   * openings are out already, this one waits for the answer): the caller (the
   * engine, for a loop it is about to open while other inputs are queued) may fold the answer into
   * the opening, one event instead of `opened` + `updated`. The request counts among those in
   * flight; if the opening goes out without the answer, follow() takes it over.
   */
  askNow(loop: Loop): Promise<TriageReply> | undefined {
    // A model that recently took more than half the fold wait (an LLM, a starved box) is not waited for.
    if (this.answerMs > FOLD_WAIT_MS / 2) return undefined;
    if (this.inFlight.size >= (this.answers > 0 ? MAX_FOLD_IN_FLIGHT : MAX_IN_FLIGHT)) return undefined;
    const reply = this.timed(this.deps.bus.request(modelTriage, { loop }, { timeout: this.deps.timeoutMs }));
    const settled = reply.then(
      () => undefined,
      () => undefined,
    );
    this.inFlight.add(settled);
    void settled.finally(() => {
      this.inFlight.delete(settled);
      this.pump();
    });
    return reply;
  }

  /** Keeps `answerMs`, a moving average of how long the model takes to answer. */
  private timed(reply: Promise<TriageReply>): Promise<TriageReply> {
    const asked = performance.now();
    void reply.then(
      () => {
        this.answerMs = 0.8 * this.answerMs + 0.2 * (performance.now() - asked);
        this.answers++;
      },
      () => undefined,
    );
    return reply;
  }

  busy(): boolean {
    return this.inFlight.size + this.waiting.length + this.following.size > 0;
  }

  /** `m` with the answer written into the loop it opens (TriageFolding). */
  fold(m: Mutation, loop: Loop, reply: TriageReply): Mutation {
    return withFoldedTriage(m, loop, reply, this.deps.clock.now(), this.deps.historyLimit);
  }

  /** The opening was stored with the answer folded in. */
  folded(): void {
    this.deps.onOutcome?.("ok");
  }

  /** The opening went out before the answer asked by askNow(): it is stored as `updated` when it comes, as start() would. */
  follow(loop: Loop, reply: Promise<TriageReply>): void {
    const trace = traceCarrier();
    if (trace) this.traces.set(loop.id, trace);
    // The request already counts in flight (askNow); this only waits for its answer to be stored.
    const p = withTraceContext(trace, () => this.triage(loop, reply)).catch((err) =>
      this.deps.log.warn({ err: (err as Error).message, loopId: loop.id }, "triage failed"),
    );
    this.following.add(p);
    void p.finally(() => this.following.delete(p));
  }

  private lease(loopId: string): Promise<unknown> {
    return this.deps.store.leaseTriage(loopId, this.deps.clock.now() + this.deps.retryMs);
  }

  private pump(): void {
    while (this.inFlight.size < MAX_IN_FLIGHT && this.waiting.length > 0) {
      const loop = this.waiting.shift() as Loop;
      const p = withTraceContext(this.traces.get(loop.id), () => this.triage(loop)).catch((err) =>
        this.deps.log.warn({ err: (err as Error).message, loopId: loop.id }, "triage failed"),
      );
      this.inFlight.add(p);
      void p.finally(() => {
        this.inFlight.delete(p);
        this.pump();
      });
    }
  }

  async triage(loop: Loop, asked?: Promise<TriageReply>): Promise<void> {
    let reply: TriageReply;
    try {
      reply = await (asked ??
        this.timed(this.deps.bus.request(modelTriage, { loop }, { timeout: this.deps.timeoutMs })));
    } catch (err) {
      this.deps.onOutcome?.("failed");
      await this.scheduleRetry(loop.id, (err as Error).message);
      return;
    }
    this.deps.onOutcome?.("ok");
    await this.deps.engine.mutate(loop.entity, (state) =>
      withTriage(state, loop, reply, this.deps.clock.now(), this.deps.historyLimit),
    );
    await this.deps.store.triageDone(loop.id);
    this.traces.delete(loop.id);
  }

  private async scheduleRetry(loopId: string, why: string): Promise<void> {
    const attempt = await this.deps.store.triageFailed(loopId);
    const delay = this.deps.retryMs * 2 ** Math.min(attempt - 1, 4);
    await this.deps.store.leaseTriage(loopId, this.deps.clock.now() + delay);
    this.deps.log.info({ loopId, attempt, retryInMs: delay, why }, "triage pending; will ask again");
  }

  /** Asks again for every loop whose retry time has come (each claimed by one replica). */
  async retryDue(): Promise<void> {
    const ids = await this.deps.store.triageDue(this.deps.clock.now(), 50);
    for (const id of ids) {
      // ZREM is the claim (one replica wins); the new lease covers a crash while asking.
      if (!(await this.deps.store.claimTriage(id))) continue;
      await this.lease(id);
      const key = await this.deps.store.entityOf(id);
      const state = key ? (await this.deps.store.read(key)).state : null;
      const loop = state && Object.values(state.loops).find((s) => s.loop.id === id)?.loop;
      if (!loop || loop.status === "closed" || loop.triage) {
        await this.deps.store.forgetTriageAttempts(id);
        this.traces.delete(id);
        continue;
      }
      await withTraceContext(this.traces.get(id), () => this.triage(loop));
    }
  }

  /** Waits for the requests in flight; loops still waiting keep their lease, so a replica or the next start asks. */
  async stop(): Promise<void> {
    this.waiting.splice(0);
    await Promise.allSettled([...this.inFlight, ...this.following]);
  }
}

/**
 * The model's triage written into the loop that `m` opens (same revision, a "triaged" history
 * entry, as withTriage() writes it later otherwise), so the opening carries it; `m` unchanged if
 * it does not open that loop.
 */
export function withFoldedTriage(
  m: Mutation,
  asked: Loop,
  reply: TriageReply,
  now: number,
  historyLimit: number,
): Mutation {
  const i = m.changes.findIndex((c) => c.event === "opened" && c.loop.id === asked.id);
  const stored = m.state.loops[asked.kind];
  const opened = m.changes[i];
  if (!opened || stored?.loop.id !== asked.id) return m;
  const at = new Date(now).toISOString();
  const { adapter, model, severity, summary, nextAction } = reply;
  const entry = { at, from: opened.loop.status, to: opened.loop.status, by: `model:${adapter}`, note: "triaged" };
  const loop = {
    ...opened.loop,
    triage: { adapter, model, severity, summary, nextAction, at },
    history: [...opened.loop.history, entry].slice(-historyLimit),
  };
  const changes = m.changes.map((c, j) => (j === i ? { ...c, loop } : c));
  return { state: { ...m.state, loops: { ...m.state.loops, [asked.kind]: { ...stored, loop } } }, changes };
}

/** Stores the model's triage on the loop (if it is still the same opening) and publishes it as `updated`. */
export function withTriage(
  state: EntityState,
  asked: Loop,
  reply: TriageReply,
  now: number,
  historyLimit: number,
): Mutation | null {
  const stored = state.loops[asked.kind];
  if (
    !stored ||
    stored.loop.id !== asked.id ||
    stored.loop.status === "closed" ||
    stored.loop.openedAt !== asked.openedAt
  )
    return null;
  const at = new Date(now).toISOString();
  const { adapter, model, severity, summary, nextAction } = reply;
  const entry = { at, from: stored.loop.status, to: stored.loop.status, by: `model:${adapter}`, note: "triaged" };
  const loop = {
    ...stored.loop,
    triage: { adapter, model, severity, summary, nextAction, at },
    rev: stored.loop.rev + 1,
    updatedAt: at,
    history: [...stored.loop.history, entry].slice(-historyLimit),
  };
  return {
    state: { ...state, loops: { ...state.loops, [asked.kind]: { ...stored, loop } } },
    changes: [{ event: "updated", loop, reason: "triaged" }],
  };
}
