import { type Bus, withConsumerSpan } from "@mirror/bus";
import { entityKey, type Loop, LoopEvent, RepoGone, RepoSnapshot, ServiceStatus } from "@mirror/contracts";
import type { Logger } from "pino";
import type { Detector } from "./detector.js";
import { countField } from "./engine.js";
import { emptyState, type EntityState } from "./state.js";
import type { LoopStore } from "./store.js";

export interface RebuildDeps {
  bus: Bus;
  store: LoopStore;
  detector: Detector;
  log: Logger;
  /** The identity whose loop events are trusted (this service's). */
  source: string;
}

/**
 * With an empty store, rebuilds the loops from the last loop event of each loop in JetStream
 * (no event is published for them: they were announced already), then feeds the latest
 * snapshot, gone and status of each entity through the rules, which publish only real changes.
 * Runs once per store: the `meta:built` marker says it was done (or was not needed).
 */
export async function rebuildIfEmpty(deps: RebuildDeps): Promise<"skipped" | "rebuilt" | "failed"> {
  const { store } = deps;
  if (await store.isBuilt()) return "skipped";
  if ((await store.entityCount()) > 0) {
    await store.markBuilt(new Date());
    return "skipped";
  }
  if (!(await store.lockRebuild(deps.source, 120_000))) {
    // Another replica rebuilds; consuming before it is done could re-announce loops.
    for (let i = 0; i < 600 && !(await store.isBuilt()); i++) await new Promise((r) => setTimeout(r, 200));
    return "skipped";
  }
  try {
    const restored = await restoreLoops(deps);
    const observed = await replayObservations(deps);
    await store.markBuilt(new Date());
    deps.log.info({ loops: restored, observations: observed }, "rebuilt loop state from JetStream");
    return "rebuilt";
  } catch (err) {
    // Without the history (no stream-read permission, JetStream away) the detector still runs:
    // level-triggered inputs re-derive the loops, at the cost of announcing them again.
    deps.log.error({ err: (err as Error).message }, "could not rebuild loop state from JetStream; starting empty");
    return "failed";
  } finally {
    await store.unlockRebuild();
  }
}

async function restoreLoops(deps: RebuildDeps): Promise<number> {
  const latest = new Map<string, Loop>();
  for (const m of await deps.bus.lastPerSubject("mirror.loop.>")) {
    const ev = LoopEvent.safeParse(m.data);
    if (!ev.success || (m.source && m.source !== deps.source)) continue;
    const cur = latest.get(ev.data.loop.id);
    if (!cur || ev.data.loop.rev > cur.rev) latest.set(ev.data.loop.id, ev.data.loop);
  }
  const entities = new Map<string, EntityState>();
  for (const loop of latest.values()) {
    const key = entityKey(loop.entity);
    const state = entities.get(key) ?? emptyState(loop.entity);
    // A loop last closed by a person stays muted until its condition is seen clear.
    const muted = loop.status === "closed" && (loop.history.at(-1)?.by ?? "").startsWith("user:");
    state.loops[loop.kind] = { loop, muted };
    entities.set(key, state);
  }
  for (const [key, state] of entities) {
    const loops = Object.values(state.loops).map((s) => s.loop);
    const counts = loops.map((l) => [countField(l), 1] as [string, number]);
    await deps.store.commit(key, 0, JSON.stringify(state), {
      loopIds: loops.map((l) => l.id),
      outbox: [],
      counts,
      wake: null,
    });
  }
  return latest.size;
}

async function replayObservations(deps: RebuildDeps): Promise<number> {
  let n = 0;
  const feed = async (filter: string, f: (data: unknown) => Promise<unknown> | undefined) => {
    for (const m of await deps.bus.lastPerSubject(filter)) {
      try {
        // In the trace of the stored event, as if consumed: what it opens joins the producer's trace.
        const attrs = { "messaging.destination": m.subject, "mirror.service": deps.source };
        if (await withConsumerSpan(`replay ${filter.replace(/\.>$/, "")}`, m.headers, attrs, async () => f(m.data)))
          n++;
      } catch (err) {
        deps.log.warn({ err: (err as Error).message, subject: m.subject }, "observation not replayed");
      }
    }
  };
  const { detector } = deps;
  await feed("mirror.repo.snapshot.>", (d) => ok(RepoSnapshot.safeParse(d), (s) => detector.onRepoSnapshot(s)));
  await feed("mirror.repo.gone.>", (d) => ok(RepoGone.safeParse(d), (g) => detector.onRepoGone(g)));
  await feed("mirror.service.status.>", (d) => ok(ServiceStatus.safeParse(d), (s) => detector.onServiceStatus(s)));
  return n;
}

function ok<T>(
  r: { success: true; data: T } | { success: false },
  f: (v: T) => Promise<unknown>,
): Promise<unknown> | undefined {
  return r.success ? f(r.data).then(() => true) : undefined;
}
