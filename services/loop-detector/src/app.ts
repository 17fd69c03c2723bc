import { PoisonError } from "@mirror/bus";
import { repoGone, repoSnapshot, serviceStatus } from "@mirror/contracts";
import type { ServiceContext, ServiceSpec, Started } from "@mirror/kit";
import { Detector } from "./detector.js";
import { checkRepoInput } from "./inputs.js";
import { LoopStore } from "./store.js";
import { startTicker } from "./tick.js";

/** Durable consumer names are public API: renaming one replays or skips history. */
export const DURABLES = { repo: "loop-detector-repo", repoGone: "loop-detector-repo-gone", service: "loop-detector-service" } as const;

/** Wires the detector to the bus, the store, HTTP and the tick. */
export async function start(ctx: ServiceContext): Promise<Started> {
  const { bus, config, log, clock } = ctx;
  const store = new LoopStore(ctx.store);
  const detector = new Detector({ config, store, bus, clock, log });
  const roots = config.scanner.roots.map((r) => r.path);
  await detector.engine.outbox.drain();
  bus.consume(repoSnapshot, DURABLES.repo, async (s, m) => {
    const bad = checkRepoInput(s.path, s.repoKey, m.token, roots);
    if (bad) throw new PoisonError(bad);
    await detector.onRepoSnapshot(s);
  });
  bus.consume(repoGone, DURABLES.repoGone, async (g, m) => {
    const bad = checkRepoInput(g.path, g.repoKey, m.token, roots);
    if (bad) throw new PoisonError(bad);
    await detector.onRepoGone(g);
  });
  bus.consume(serviceStatus, DURABLES.service, async (s) => void (await detector.onServiceStatus(s)));
  const ticker = startTicker({ detector, store, log, now: () => clock.now() }, config.loops.tick);
  return { stop: () => ticker.stop() };
}

export const loopDetector: ServiceSpec = {
  name: "loop-detector",
  description: "turns snapshots and statuses into open loops with a lifecycle",
  port: (c) => c.loops.port,
  start,
};
