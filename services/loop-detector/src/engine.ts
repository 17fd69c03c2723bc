import { type Bus, traceCarrier } from "@mirror/bus";
import { entityKey, type Loop, type LoopEntity, MirrorError, type TriageReply } from "@mirror/contracts";
import type { Logger } from "pino";
import { Outbox } from "./outbox.js";
import { emptyState, type EntityState, type LoopChange, type Mutation, wakeAt } from "./state.js";
import type { LoopStore, OutboxEntry, StoredEntity } from "./store.js";
import { foldTriage, type TriageFolding } from "./triage-fold.js";

/**
 * Given the stored state (or a fresh one), the new state and its events; null changes nothing.
 * `remembered`: the state is the one this process last committed, not read now; a decision to
 * change nothing (or a throw) on it is taken again on a fresh read, so count nothing then.
 */
export type Mutator = (state: EntityState, stored: boolean, remembered: boolean) => Mutation | null;

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
  /** Folds triage into openings made under load (triage on), else unset or undefined. */
  folding?: () => TriageFolding | undefined;
}

export interface MutateOptions {
  /** Other inputs are waiting: a loop opened now may wait for its triage and carry it (see triage-fold.ts). */
  fold?: boolean;
}

export class ConflictError extends MirrorError {
  override name = "ConflictError";
  constructor(message: string) {
    super("MIRROR_ERR_LOOP_CONFLICT", message);
  }
}

const MAX_ATTEMPTS = 50;
/** Entities whose last committed state is remembered, and for how long. */
const RECENT_MAX = 512;
const RECENT_TTL_MS = 30_000;

/**
 * The state this process last committed for a few entities: an opened loop's triage and the next
 * input of a busy entity follow within moments, and start from it instead of a read (one Redis
 * round trip and a parse of the document fewer). Safe with replicas and other writers: the
 * commit compares the version, so a state that is no longer current fails it and is read again.
 */
class RecentStates {
  private readonly map = new Map<string, { entity: StoredEntity; at: number }>();

  /** Takes (removes) the remembered state of `key`: one mutation at a time starts from it. */
  take(key: string, now: number): StoredEntity | undefined {
    const hit = this.map.get(key);
    if (!hit) return undefined;
    this.map.delete(key);
    return now - hit.at <= RECENT_TTL_MS ? hit.entity : undefined;
  }

  put(key: string, entity: StoredEntity, now: number): void {
    this.map.delete(key);
    this.map.set(key, { entity, at: now });
    if (this.map.size > RECENT_MAX) this.map.delete(this.map.keys().next().value as string);
  }

  forget(key: string): void {
    this.map.delete(key);
  }
}

/** Applies mutations to one entity atomically (read, compute, compare-and-set, retry) and publishes through the outbox. */
export class Engine {
  readonly outbox: Outbox;
  private readonly recent = new RecentStates();
  constructor(private readonly deps: EngineDeps) {
    this.outbox = new Outbox(deps.store, deps.bus, deps.log);
  }

  async mutate(entity: LoopEntity, fn: Mutator, opts: MutateOptions = {}): Promise<Mutation | null> {
    const key = entityKey(entity);
    let remembered = this.recent.take(key, Date.now());
    const folding = opts.fold ? this.deps.folding?.() : undefined;
    /** Triage asked for loops this mutation opens, kept across its retries (asked once). */
    const asked = new Map<string, Promise<TriageReply>>();
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const fromMemory = remembered !== undefined;
      const cur = remembered ?? (await this.deps.store.read(key));
      remembered = undefined;
      let m: Mutation | null;
      try {
        m = fn(cur.state ?? emptyState(entity), cur.state !== null, fromMemory);
      } catch (err) {
        if (fromMemory) continue;
        throw err;
      }
      let doc = m && JSON.stringify(m.state);
      const wake = m && wakeAt(m.state);
      if (!m || (doc === cur.raw && m.changes.length === 0 && wake === cur.due)) {
        // Nothing to write is decided on the stored state only: a remembered one may be behind.
        if (fromMemory) continue;
        return m;
      }
      let folded = new Set<string>();
      if (folding && m.changes.some((c) => c.event === "opened")) {
        ({ m, folded } = await foldTriage(m, folding, asked));
        if (folded.size) doc = JSON.stringify(m.state);
      }
      const outbox = m.changes.map(toOutbox);
      const ok = await this.deps.store.commit(key, cur.version, doc as string, {
        loopIds: Object.values(m.state.loops).map((s) => s.loop.id),
        outbox,
        counts: countDeltas(cur.state, m.state),
        wake,
        leases: this.leases(m.changes.filter((c) => !folded.has(c.loop.id))),
      });
      if (ok) {
        this.recent.put(key, { version: cur.version + 1, raw: doc, state: m.state, due: wake }, Date.now());
        await this.outbox.publish(outbox);
        for (const c of m.changes) {
          if (c.event !== "opened") continue;
          const reply = asked.get(c.loop.id);
          if (folded.has(c.loop.id)) folding?.folded();
          else if (reply) folding?.follow(c.loop, reply);
          else this.deps.onOpened?.(c.loop);
        }
        if (m.changes.length) this.deps.onChanges?.(m.changes);
        return m;
      }
      this.recent.forget(key);
      // Someone else wrote this entity first: read it again and recompute on top of theirs.
      if (!fromMemory) await new Promise((r) => setTimeout(r, Math.random() * Math.min(50, attempt * 5)));
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
