import { checkSites, hubSite, type ServiceStatus, type TrackerConfig, trackerSites } from "@mirror/contracts";

/** A check's live status as the console shows it: its first site's state, and each site's. */
export interface SiteView {
  state: ServiceStatus["state"];
  /** Each site's latest state, the first site first; only in a mesh of several probe sites. */
  sites?: Record<string, ServiceStatus["state"]>;
}

/**
 * The latest state of each check at each probe site, from the statuses as they arrive (every
 * status carries its `site`; one without it is the hub site's). In a mesh of several sites the
 * live view shows a check's first site's state (`sites[0]`, else the hub) and lists the others,
 * so two sites probing one check never make it flip between their views. One site: as before.
 */
export class SiteStates {
  private readonly seen = new Map<string, Map<string, ServiceStatus["state"]>>();

  constructor(private readonly tracker: () => TrackerConfig) {}

  /** The sites a check runs at, the first being the one whose state it shows. */
  sitesOf(check: string): string[] {
    const t = this.tracker();
    const c = t.checks.find((x) => x.name === check);
    return c ? checkSites(c, t) : [hubSite(t)];
  }

  /** Takes one status; undefined when it is from a site the check does not run at (not shown). */
  see(s: ServiceStatus): SiteView | undefined {
    const t = this.tracker();
    if (trackerSites(t).length < 2) return { state: s.state };
    const at = this.sitesOf(s.name);
    const site = s.site ?? hubSite(t);
    if (!at.includes(site)) return undefined;
    let states = this.seen.get(s.name);
    if (!states) this.seen.set(s.name, (states = new Map()));
    states.set(site, s.state);
    return this.view(s.name);
  }

  /** A check's view from the states seen so far (undefined for one site or none seen). */
  view(check: string): SiteView | undefined {
    const states = this.seen.get(check);
    if (!states || trackerSites(this.tracker()).length < 2) return undefined;
    const at = this.sitesOf(check);
    const sites: Record<string, ServiceStatus["state"]> = {};
    for (const site of at) {
      const st = states.get(site);
      if (st) sites[site] = st;
    }
    return { state: sites[at[0] as string] ?? "unknown", sites };
  }
}
