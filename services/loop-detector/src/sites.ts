import {
  type CheckConfig,
  checkQuorum,
  checkSites,
  entityKey,
  hubSite,
  type LoopEntity,
  type ServiceStatus,
  type TrackerConfig,
  trackerSites,
} from "@mirror/contracts";
import type { Logger } from "pino";
import type { Engine } from "./engine.js";
import { reconcile } from "./reconcile.js";
import { condition, type ResolvedRules } from "./rules/rule.js";
import type { Observation } from "./state.js";
import type { LoopStore } from "./store.js";

/**
 * The aggregate of a check's per-site statuses, by its quorum: down when at least `quorum` of its
 * reachable sites see it down (degraded likewise, down counting as degraded), up when fewer do,
 * unknown when no reachable site has said anything. A site that is unreachable (site.unreachable)
 * does not count, and the quorum is at most the number of reachable sites: its stale statuses
 * neither open nor keep loops, and the others still can. The loop names the sites (`badSites`).
 */
export function aggregateSites(
  perSite: Record<string, Observation>,
  at: readonly string[],
  quorum: number,
  unreachable: ReadonlySet<string>,
): Observation | null {
  const reachable = at.filter((s) => !unreachable.has(s));
  const heard = reachable
    .map((site) => ({ site, obs: perSite[site] }))
    .filter((x): x is { site: string; obs: Observation } => x.obs !== undefined)
    .map((x) => ({ ...x, s: x.obs.data as ServiceStatus }));
  if (!heard.length) return null;
  const q = Math.max(1, Math.min(quorum, reachable.length));
  const down = heard.filter((x) => x.s.state === "down");
  const bad = heard.filter((x) => x.s.state === "down" || x.s.state === "degraded");
  const basis = down.length >= q ? down : bad.length >= q ? bad : null;
  const known = heard.filter((x) => x.s.state !== "unknown");
  const state: ServiceStatus["state"] = basis
    ? basis === down
      ? "down"
      : "degraded"
    : known.length
      ? "up"
      : "unknown";
  const newest = heard.reduce((a, b) =>
    b.obs.at > a.obs.at || (b.obs.at === a.obs.at && b.obs.seq > a.obs.seq) ? b : a,
  );
  const rep = basis?.[0] ?? known[0] ?? newest;
  // The quorum was reached when the q-th site turned bad.
  const since = basis
    ? basis.map((x) => Date.parse(x.s.since)).sort((a, b) => a - b)[q - 1]
    : Math.max(...(known.length ? known : heard).map((x) => Date.parse(x.s.since)));
  const perSiteStates = Object.fromEntries(heard.map((x) => [x.site, x.s.state]));
  const data: ServiceStatus = {
    ...rep.s,
    state,
    since: new Date(since ?? newest.obs.at).toISOString(),
    observedAt: newest.s.observedAt,
    seq: newest.obs.seq,
    reason: basis ? (rep.s.reason ?? null) : null,
    failedConditions: basis ? rep.s.failedConditions : [],
    details: {
      ...rep.s.details,
      sites: perSiteStates,
      quorum: q,
      ...(basis ? { badSites: basis.map((x) => x.site).sort() } : {}),
    },
  };
  delete data.site;
  return { source: "service", at: newest.obs.at, seq: newest.obs.seq, data };
}

/** What the detector needs to know of a check's sites: where it runs and its quorum. */
export interface CheckSites {
  at: string[];
  quorum: number;
}

/** Each configured check's sites and quorum, by name. */
export function sitesOfChecks(tracker: TrackerConfig): Map<string, CheckSites> {
  return new Map(
    tracker.checks.map((c: CheckConfig) => [c.name, { at: checkSites(c, tracker), quorum: checkQuorum(c, tracker) }]),
  );
}

export interface SiteWatchDeps {
  store: LoopStore;
  engine: Engine;
  log: Logger;
  now: () => number;
  historyLimit: () => number;
  rules: () => ResolvedRules;
  tracker: () => TrackerConfig;
  /** A site turned unreachable or came back: the multi-site checks it runs are evaluated again. */
  onChange?: (site: string, unreachable: boolean) => void;
}

/** How often a site's last-heard time is written at most (each status would otherwise write it). */
const SEEN_WRITE_EVERY_MS = 1_000;

/**
 * Which probe sites are heard: every status from a site's trackers (each tracked status is
 * published at least every `tracker.resyncEvery`, keep-alive included) marks the site heard, in
 * Redis, so every loop-detector replica agrees. A site not heard for `tracker.siteMissed` of those
 * intervals is unreachable: one `site.unreachable` loop for the site, closed when it is heard again.
 * Only with more than one site (a one-site mesh behaves as before sites).
 */
export class SiteWatch {
  /** The sites unreachable at the last sweep. */
  unreachable = new Set<string>();
  private readonly written = new Map<string, number>();

  constructor(private readonly deps: SiteWatchDeps) {}

  /** How long a site may stay silent before it is unreachable. */
  silentAfter(): number {
    const t = this.deps.tracker();
    return t.siteMissed * t.resyncEvery;
  }

  enabled(): boolean {
    return trackerSites(this.deps.tracker()).length > 1;
  }

  /** A status from `site` arrived now (the detector's clock: a remote site's clock may be off). */
  async heard(site: string): Promise<void> {
    if (!this.enabled() || !trackerSites(this.deps.tracker()).includes(site)) return;
    const now = this.deps.now();
    if (now - (this.written.get(site) ?? Number.NEGATIVE_INFINITY) < SEEN_WRITE_EVERY_MS) return;
    this.written.set(site, now);
    await this.deps.store.siteSeen(site, now);
    // Heard again: it is back at once here; the sweep closes its loop.
    if (this.unreachable.delete(site)) this.deps.onChange?.(site, false);
  }

  /** Opens or closes each site's `site.unreachable` loop from when it was last heard; run by the tick. */
  async sweep(): Promise<void> {
    if (!this.enabled()) {
      this.unreachable.clear();
      return;
    }
    const tracker = this.deps.tracker();
    const sites = trackerSites(tracker);
    const now = this.deps.now();
    const silentAfter = this.silentAfter();
    const seen = await this.deps.store.sitesSeen(sites, now);
    for (const site of sites) {
      const last = seen[site] ?? now;
      const gone = now - last >= silentAfter;
      if (gone !== this.unreachable.has(site)) {
        if (gone) this.unreachable.add(site);
        else this.unreachable.delete(site);
        this.deps.log.warn(
          { site, lastHeard: new Date(last).toISOString(), silentForMs: now - last },
          gone ? "probe site unreachable" : "probe site heard again",
        );
        this.deps.onChange?.(site, gone);
      }
      await this.reconcileSite(site, gone, last, tracker, now);
    }
    for (const site of this.unreachable) if (!sites.includes(site)) this.unreachable.delete(site);
  }

  private async reconcileSite(
    site: string,
    gone: boolean,
    last: number,
    tracker: TrackerConfig,
    now: number,
  ): Promise<void> {
    const entity: LoopEntity = { type: "site", site };
    const checks = tracker.checks.filter((c) => checkSites(c, tracker).includes(site)).map((c) => c.name);
    const conditions = gone
      ? condition(this.deps.rules(), "site.unreachable", {
          summary: `probe site ${site} is unreachable`,
          evidence: {
            site,
            lastHeard: new Date(last).toISOString(),
            silentAfterMs: this.silentAfter(),
            hub: site === hubSite(tracker),
            checks,
          },
          since: last + this.silentAfter(),
        })
      : [];
    await this.deps.engine.mutate(entity, (state, stored) => {
      if (!stored && !gone) return null;
      return reconcile(state, conditions, now, { suppressedBy: [], historyLimit: this.deps.historyLimit() });
    });
  }
}

/** The entity keys of the checks that run at `site` and at least one other site. */
export function multiSiteChecksAt(site: string, tracker: TrackerConfig): string[] {
  return tracker.checks
    .filter((c) => {
      const at = checkSites(c, tracker);
      return at.length > 1 && at.includes(site);
    })
    .map((c) => entityKey({ type: "service", service: c.name }));
}
