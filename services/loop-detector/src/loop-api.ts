import { type Loop, type LoopSnooze, type LoopsListRequest, parseDuration, SEVERITY_RANK } from "@mirror/contracts";
import type { Clock } from "@mirror/kit";
import type { Engine } from "./engine.js";
import { badRequest, notFound } from "./errors.js";
import { applyCommand, type Command } from "./lifecycle.js";
import type { LoopStore } from "./store.js";

export interface LoopApiDeps {
  store: LoopStore;
  engine: Engine;
  clock: Clock;
  historyLimit: number;
}

const asList = <T>(v: T | T[] | undefined): T[] | undefined =>
  v === undefined ? undefined : Array.isArray(v) ? v : [v];

/** Reading and commanding loops: what the HTTP API and the bus endpoints both call. */
export class LoopApi {
  constructor(private readonly deps: LoopApiDeps) {}

  /** Loops matching the filter, worst first, then oldest first. */
  async list(filter: LoopsListRequest = {}): Promise<Loop[]> {
    const [status, kind, severity] = [asList(filter.status), asList(filter.kind), asList(filter.severity)];
    const loops = (await this.deps.store.allStates())
      .flatMap((s) => Object.values(s.loops).map((l) => l.loop))
      .filter(
        (l) =>
          (!status || status.includes(l.status)) &&
          (!kind || kind.includes(l.kind)) &&
          (!severity || severity.includes(l.severity)),
      );
    return loops.sort(
      (a, b) =>
        SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity] ||
        a.openedAt.localeCompare(b.openedAt) ||
        a.id.localeCompare(b.id),
    );
  }

  async get(loopId: string): Promise<Loop> {
    const key = await this.deps.store.entityOf(loopId);
    const state = key ? (await this.deps.store.read(key)).state : null;
    const found = state && Object.values(state.loops).find((s) => s.loop.id === loopId);
    if (!found) throw notFound(loopId);
    return found.loop;
  }

  /** Runs an owner's command atomically; repeating it is a no-op that returns the loop as it is. */
  async command(loopId: string, command: Command, by: string, note?: string): Promise<Loop> {
    const key = await this.deps.store.entityOf(loopId);
    const cur = key ? await this.deps.store.read(key) : null;
    if (!cur?.state) throw notFound(loopId);
    let loop: Loop | undefined;
    await this.deps.engine.mutate(cur.state.entity, (state) => {
      const m = applyCommand(state, {
        loopId,
        command,
        by,
        note,
        now: this.deps.clock.now(),
        historyLimit: this.deps.historyLimit,
      });
      loop = m.loop;
      return m;
    });
    return loop as Loop;
  }

  snooze(req: Pick<LoopSnooze, "loopId" | "by" | "note" | "until" | "for">): Promise<Loop> {
    return this.command(req.loopId, { type: "snooze", until: snoozeEnd(req, this.deps.clock.now()) }, req.by, req.note);
  }
}

/** The end of a snooze from `for` ("2h") or `until` (ISO time); it must lie in the future. */
export function snoozeEnd(req: { until?: string; for?: string }, now: number): number {
  if ((req.until === undefined) === (req.for === undefined))
    throw badRequest('give either "for" (a duration like "2h") or "until" (an ISO time)');
  let until: number;
  if (req.for !== undefined) {
    try {
      until = now + parseDuration(req.for);
    } catch (err) {
      throw badRequest(`"for": ${(err as Error).message}`);
    }
  } else {
    until = Date.parse(req.until as string);
    if (Number.isNaN(until)) throw badRequest(`"until": "${req.until}" is not an ISO time`);
  }
  if (until <= now)
    throw badRequest(
      `cannot snooze into the past: ${new Date(until).toISOString()} is not after ${new Date(now).toISOString()}`,
    );
  return until;
}
