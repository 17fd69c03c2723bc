// "After each fault" needs a moment when nothing is in flight, found by observation rather than
// by sleeping: every repo was observed again after the fault (a level-triggered resync), every
// durable consumer has caught up, and the notifier owes nothing.
import { repoKey, STREAM } from "@mirror/contracts";
import { waitFor } from "@mirror/testkit";
import { metric, type Ports } from "./mesh.js";
import { type Probe, waitLagZero } from "./probe.js";

/** The newest stored message of one subject, decoded. */
export async function lastOf(probe: Probe, subject: string): Promise<unknown> {
  const m = await probe.jsm.streams.getMessage(STREAM.name, { last_by_subj: subject }).catch(() => null);
  return m ? m.json() : undefined;
}

/** Waits until each repo has a snapshot observed at or after `since` in the stream. */
export async function waitResynced(
  probe: Probe,
  repos: readonly string[],
  since: number,
  timeout = 120_000,
): Promise<void> {
  const pending = new Set(repos);
  await waitFor(
    `a snapshot of every repo observed after ${new Date(since).toISOString()}`,
    async () => {
      for (const r of [...pending]) {
        const s = (await lastOf(probe, `mirror.repo.snapshot.${repoKey(r)}`)) as { observedAt?: string } | undefined;
        if (s?.observedAt && Date.parse(s.observedAt) >= since) pending.delete(r);
      }
      return pending.size === 0;
    },
    { timeout, interval: 500 },
  );
}

/** Resynced, no consumer lag, no delivery owed; returns how many events the stream holds. */
export async function quiesce(opts: {
  probe: Probe;
  ports: Ports;
  repos?: readonly string[];
  since: number;
  timeout?: number;
}): Promise<{ events: number }> {
  const timeout = opts.timeout ?? 120_000;
  if (opts.repos?.length) await waitResynced(opts.probe, opts.repos, opts.since, timeout);
  await waitLagZero(opts.probe, timeout);
  await waitFor(
    "the notifier owes no delivery",
    async () => (await metric(opts.ports.notifier, "mirror_notify_pending")) === 0,
    { timeout, interval: 250 },
  );
  await waitLagZero(opts.probe, timeout);
  const info = await opts.probe.jsm.streams.info(STREAM.name);
  return { events: info.state.last_seq };
}

/** The tracker's latest state of each mesh member (by its Services API name). */
export async function meshStatuses(probe: Probe): Promise<Record<string, string>> {
  const info = await probe.jsm.streams.info(STREAM.name, { subjects_filter: "mirror.service.status.>" });
  const out: Record<string, string> = {};
  for (const subject of Object.keys(info.state.subjects ?? {})) {
    const s = (await lastOf(probe, subject)) as { name?: string; kind?: string; state?: string } | undefined;
    if (s?.kind === "mesh" && s.name) out[s.name] = String(s.state);
  }
  return out;
}

/** How many loop.opened events the stream holds per loop, keyed `kind entity` (a repo path or a service name). */
export async function openedCounts(probe: Probe): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const m of await probe.read(STREAM.name, "mirror.loop.opened.>")) {
    // Only the loop-detector's events: a test may have put garbage on these subjects too.
    if (m.headers["ce-source"] !== "loop-detector") continue;
    const loop = (m.json as { loop: { kind: string; entity: { repo?: string; service?: string } } }).loop;
    const key = `${loop.kind} ${loop.entity.repo ?? loop.entity.service ?? ""}`;
    out.set(key, (out.get(key) ?? 0) + 1);
  }
  return out;
}
