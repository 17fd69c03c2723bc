import type { ActiveDeps, CompiledCheck } from "../active.js";
import { phaseOf, slackOf, toObserved } from "../active.js";
import type { Tracked } from "../status.js";
import { listLabelled, probeContainer } from "./docker.js";

/**
 * A `docker: { discover: true }` check: each run lists the containers labelled
 * mirror.check=true and probes each as its own entity, `<check>-<container>`, with the
 * check's conditions. The check itself reports the listing: down when the socket is missing
 * or refused, up with the number of containers found. A container that is gone is forgotten.
 */
export function scheduleDiscovery(c: CompiledCheck, deps: ActiveDeps): () => void {
  const { scheduler, book, metrics, clock, tracker } = deps;
  const docker = c.cfg.docker as NonNullable<typeof c.cfg.docker>;
  const spec = (name: string) => ({
    name,
    kind: "docker" as const,
    dependsOn: c.cfg.dependsOn,
    failureThreshold: c.cfg.failureThreshold ?? tracker.failureThreshold,
    successThreshold: c.cfg.successThreshold ?? tracker.successThreshold,
  });
  const self = book.track(spec(c.cfg.name));
  const found = new Map<string, Tracked>();
  const interval = c.cfg.interval;
  const phase = phaseOf(c.cfg.name);
  let due = clock.now() + (phase % Math.max(1, interval));
  let live = true;
  scheduler.add(
    `check:${c.cfg.name}`,
    due,
    async () => {
      if (deps.share && !deps.share.owns(c.cfg.name)) return clock.now() + interval;
      const started = performance.now();
      const listed = await listLabelled(docker.socket, docker.timeout);
      if (!live) return null;
      const latencyMs = performance.now() - started;
      if ("error" in listed) {
        book.report(self, {
          state: "down",
          latencyMs,
          reason: listed.error,
          failedConditions: [],
          details: { target: docker.socket },
        });
        metrics.recordProbe(c.cfg.name, "docker", "down", latencyMs, null);
      } else {
        const names = new Set<string>();
        await Promise.all(
          listed.containers.map(async ({ id, name }) => {
            const entity = `${c.cfg.name}-${name}`.slice(0, 256);
            names.add(entity);
            let t = found.get(entity);
            if (!t) {
              t = book.track(spec(entity));
              found.set(entity, t);
            }
            const r = await probeContainer(docker.socket, { id, name }, docker.timeout, c.conditions, () =>
              clock.now(),
            );
            if (!live) return;
            const o = toObserved(r);
            o.details = { target: name, ...o.details };
            metrics.recordProbe(entity, "docker", o.state, r.latencyMs, null);
            book.report(t, o);
          }),
        );
        for (const entity of found.keys()) {
          if (names.has(entity)) continue;
          found.delete(entity);
          book.forget(entity);
        }
        book.report(self, {
          state: "up",
          latencyMs,
          reason: null,
          failedConditions: [],
          details: { target: docker.socket, containers: [...names].sort() },
        });
        metrics.recordProbe(c.cfg.name, "docker", "up", latencyMs, null);
      }
      due += interval;
      const now = clock.now();
      if (due < now) due = now + ((phase + now) % Math.min(interval, 1_000));
      return due;
    },
    { slack: slackOf(interval, tracker.coalesce) },
  );
  return () => {
    live = false;
    scheduler.remove(`check:${c.cfg.name}`);
    for (const entity of found.keys()) book.forget(entity);
    found.clear();
  };
}
