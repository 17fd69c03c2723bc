import { type Bus, traceCarrier } from "@mirror/bus";
import { entityKey, type Loop, type LoopEntity, MirrorError } from "@mirror/contracts";
import type { Logger } from "pino";
import { Outbox } from "./outbox.js";
import { emptyState, type EntityState, type LoopChange, type Mutation, wakeAt } from "./state.js";
import type { LoopStore, OutboxEntry } from "./store.js";

/** Given the stored state (or a fresh one), the new state and its events; null changes nothing. */
export type Mutator = (state: EntityState, stored: boolean) => Mutation | null;

export interface EngineDeps {
  store: LoopStore;
  bus: Bus;
  log: Logger;
  /** Called with every loop that was opened (triage) after its events were stored. */
  onOpened?: (loop: Loop) => void;
  /** Called after every commit with the changes (dependency wake-ups, metrics). */
  onChanges?: (changes: LoopChange[]) => void;
  /** When a loop opened now should be asked about again if its triage has not been stored (triage on), else unset. */
  triageLeaseAt?: () => number;
}

export class ConflictError extends MirrorError {
  override name = "ConflictError";
  constructor(message: string) {
    super("MIRROR_ERR_LOOP_CONFLICT", message);
  }
}

const MAX_ATTEMPTS = 50;

/** Applies mutations to one entity atomically (read, compute, compare-and-set, retry) and publishes through the outbox. */
export class Engine {
  readonly outbox: Outbox;
  constructor(private readonly deps: EngineDeps) {
    this.outbox = new Outbox(deps.store, deps.bus, deps.log);
  }

  async mutate(entity: LoopEntity, fn: Mutator): Promise<Mutation | null> {
    const key = entityKey(entity);
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const cur = await this.deps.store.read(key);
      const m = fn(cur.state ?? emptyState(entity), cur.state !== null);
      if (!m) return null;
      const doc = JSON.stringify(m.state);
      const wake = wakeAt(m.state);
      if (doc === cur.raw && m.changes.length === 0 && wake === cur.due) return m;
      const outbox = m.changes.map(toOutbox);
      const ok = await this.deps.store.commit(key, cur.version, doc, {
        loopIds: Object.values(m.state.loops).map((s) => s.loop.id),
        outbox,
        counts: countDeltas(cur.state, m.state),
        wake,
        leases: this.leases(m.changes),
      });
      if (ok) {
        await this.outbox.publish(outbox);
        for (const c of m.changes) if (c.event === "opened") this.deps.onOpened?.(c.loop);
        if (m.changes.length) this.deps.onChanges?.(m.changes);
        return m;
      }
      // Someone else wrote this entity first: read it again and recompute on top of theirs.
      await new Promise((r) => setTimeout(r, Math.random() * Math.min(50, attempt * 5)));
    }
    throw new ConflictError(`gave up updating ${key} after ${MAX_ATTEMPTS} concurrent writes`);
  }

  /** Triage leases for the loops a commit opens, written with it (a crash right after still leaves them). */
  private leases(changes: LoopChange[]): [number, string][] {
    const at = this.deps.triageLeaseAt;
    if (!at) return [];
    return changes.filter((c) => c.event === "opened").map((c) => [at(), c.loop.id]);
  }
}

function toOutbox(c: LoopChange): OutboxEntry {
  const trace = traceCarrier();
  return {
    id: `${c.loop.id}:${c.loop.rev}`,
    event: c.event,
    token: c.loop.id,
    data: { loop: c.loop, reason: c.reason },
    at: Date.now(),
    ...(trace ? { trace } : {}),
  };
}

/** Counter field of a loop: kind, severity and status. */
export const countField = (l: Loop) => `${l.kind}|${l.severity}|${l.status}`;

function countDeltas(before: EntityState | null, after: EntityState): [string, number][] {
  const d = new Map<string, number>();
  const add = (f: string, n: number) => d.set(f, (d.get(f) ?? 0) + n);
  for (const s of Object.values(before?.loops ?? {})) add(countField(s.loop), -1);
  for (const s of Object.values(after.loops)) add(countField(s.loop), 1);
  return [...d].filter(([, n]) => n !== 0);
}
