import { type Bus, PoisonError } from "@mirror/bus";
import {
  entityKey,
  hubSite,
  siteOfIdentity,
  trackerSites,
  type Loop,
  type LoopEntity,
  type MaintenanceWindow,
  type MirrorConfig,
  type RepoGone,
  type RepoSnapshot,
  type ServiceStatus,
} from "@mirror/contracts";
import type { Clock } from "@mirror/kit";
import type { Logger } from "pino";
import { Engine, type EngineDeps } from "./engine.js";
import { evaluate, isNewer } from "./evaluate.js";
import { checkRepoInput } from "./inputs.js";
import { MaintenanceWindows } from "./maintenance.js";
import { endSnoozes, reconcile } from "./reconcile.js";
import { type Condition, type ResolvedRules, resolveRules } from "./rules/rule.js";
import { aggregateSites, type CheckSites, multiSiteChecksAt, SiteWatch, sitesOfChecks } from "./sites.js";
import { type EntityState, isActive, type LoopChange, type Mutation, type Observation } from "./state.js";
import type { LoopStore } from "./store.js";
import type { TriageFolding } from "./triage-fold.js";

export interface DetectorDeps {
  config: MirrorConfig;
  store: LoopStore;
  bus: Bus;
  clock: Clock;
  log: Logger;
  onChanges?: EngineDeps["onChanges"];
  onRejected?: (reason: string) => void;
  /** Counts inputs that changed nothing because they were older than what is stored. */
  onStale?: (source: Observation["source"]) => void;
  /** Counts statuses ignored because their site may not report them (the check does not run there). */
  onSiteIgnored?: (site: string, reason: "not_assigned" | "wrong_identity") => void;
}

/** Turns observations into loops: stores each entity's latest input, evaluates the rules, reconciles. */
export class Detector {
  /** Set once the triager exists (it needs the engine). */
  onOpened: ((loop: Loop) => void) | undefined;
  /** Set once the triager exists, with triage on: folds triage into openings made under load. */
  folding: TriageFolding | undefined;
  readonly engine: Engine;
  rules: ResolvedRules;
  private roots: string[];
  private configured: Set<string>;
  maintenance: MaintenanceWindows;
  private config: MirrorConfig;
  private runtimeWindows: MaintenanceWindow[] = [];
  private checkSites: Map<string, CheckSites>;
  /** Which probe sites are heard; the tick sweeps it (site.unreachable). */
  readonly sites: SiteWatch;

  constructor(private readonly deps: DetectorDeps) {
    this.config = deps.config;
    this.rules = resolveRules(deps.config.loops);
    this.roots = deps.config.scanner.roots.map((r) => r.path);
    this.configured = new Set(deps.config.tracker.checks.map((c) => c.name));
    this.checkSites = sitesOfChecks(deps.config.tracker);
    this.maintenance = new MaintenanceWindows(deps.config.loops.maintenance);
    const onChanges = (c: LoopChange[]) => {
      deps.onChanges?.(c);
      void this.wakeChildren(c);
    };
    const loops = deps.config.loops;
    const triageLeaseAt = loops.triage ? () => deps.clock.now() + loops.triageRetry : undefined;
    this.engine = new Engine({
      store: deps.store,
      bus: deps.bus,
      log: deps.log,
      onOpened: (l) => this.onOpened?.(l),
      folding: () => this.folding,
      onChanges,
      triageLeaseAt,
    });
    this.sites = new SiteWatch({
      store: deps.store,
      engine: this.engine,
      log: deps.log,
      now: () => deps.clock.now(),
      historyLimit: () => this.config.loops.historyLimit,
      rules: () => this.rules,
      tracker: () => this.config.tracker,
      // Its multi-site checks are aggregated again without (or with) its statuses on the next tick.
      onChange: (site) =>
        void deps.store
          .wakeNow(multiSiteChecksAt(site, this.config.tracker), 0)
          .catch((err) => deps.log.warn({ err: (err as Error).message, site }, "checks of a site not woken")),
    });
  }

  /**
   * Takes a reloaded config: rules, maintenance windows, dependencies, roots and configured
   * checks are swapped at once; the next evaluation of each entity uses them.
   */
  configure(config: MirrorConfig): void {
    const rules = resolveRules(config.loops);
    const maintenance = new MaintenanceWindows([...config.loops.maintenance, ...this.runtimeWindows]);
    this.config = config;
    this.rules = rules;
    this.maintenance = maintenance;
    this.roots = config.scanner.roots.map((r) => r.path);
    this.configured = new Set(config.tracker.checks.map((c) => c.name));
    this.checkSites = sitesOfChecks(config.tracker);
  }

  /** The windows made at run time (the store holds them): they count beside loops.maintenance. */
  setRuntimeWindows(windows: MaintenanceWindow[]): void {
    if (JSON.stringify(windows) === JSON.stringify(this.runtimeWindows)) return;
    this.runtimeWindows = windows;
    this.maintenance = new MaintenanceWindows([...this.config.loops.maintenance, ...windows]);
  }

  /** The windows of mirror.yaml (loops.maintenance), as last loaded. */
  configWindows(): MaintenanceWindow[] {
    return this.config.loops.maintenance;
  }

  /**
   * Throws PoisonError (dead-lettered by the bus kit) for a snapshot that cannot be trusted.
   * `busy`: other inputs wait behind this one, so a loop it opens may carry its triage (see
   * triage-fold.ts); so may one opened while other loops' triage is still being asked.
   */
  onRepoSnapshot(s: RepoSnapshot, token = s.repoKey, busy = false): Promise<Mutation | null> {
    this.checkRepo(s.path, s.repoKey, token);
    return this.observe(
      { type: "repo", repo: s.path },
      { source: "repo", at: Date.parse(s.observedAt), seq: s.seq, data: s },
      [],
      busy || (this.folding?.busy() ?? false),
    );
  }

  onRepoGone(g: RepoGone, token = g.repoKey): Promise<Mutation | null> {
    this.checkRepo(g.path, g.repoKey, token);
    return this.observe(
      { type: "repo", repo: g.path },
      { source: "gone", at: Date.parse(g.observedAt), seq: g.seq, data: g },
      [],
    );
  }

  /** A check's status from one probe site (`source`: the publishing identity, when signed). */
  async onServiceStatus(s: ServiceStatus, source?: string): Promise<Mutation | null> {
    const tracker = this.config.tracker;
    const site = s.site ?? hubSite(tracker);
    const check = this.checkSites.get(s.name);
    // A site's identity speaks only for its own site; a site reports only the checks that run there
    // (mesh members, not configured, only come from the hub's discovery).
    const claimed = source ? siteOfIdentity(source) : undefined;
    if (claimed !== undefined && claimed !== site) return this.ignoreSite(s, site, "wrong_identity", source);
    if (check ? !check.at.includes(site) : site !== hubSite(tracker)) return this.ignoreSite(s, site, "not_assigned");
    await this.sites.heard(site);
    const parents = this.parentsOf(s.name, s.dependsOn);
    await Promise.all(s.dependsOn.map((p) => this.deps.store.addChild(p, s.name)));
    const down = await this.parentsDown(parents);
    const entity: LoopEntity = { type: "service", service: s.name };
    const obs: Observation = { source: "service", at: Date.parse(s.observedAt), seq: s.seq, data: s };
    // A check at one site is what it was before sites: its status is the check's status.
    if (!check || check.at.length === 1) return this.observe(entity, obs, down);
    const now = this.deps.clock.now();
    return this.engine.mutate(entity, (state, _stored, remembered) => {
      const before = state.sites?.[site];
      if (before && !isNewer({ ...state, obs: before }, obs)) {
        if (!remembered) this.deps.onStale?.("service");
        return null;
      }
      const sites = { ...state.sites, [site]: obs };
      return this.evaluateState({ ...state, sites, obs: this.aggregate(sites, check) }, now, down);
    });
  }

  private aggregate(sites: Record<string, Observation>, check: CheckSites): Observation | null {
    return aggregateSites(sites, check.at, check.quorum, this.sites.unreachable);
  }

  private ignoreSite(s: ServiceStatus, site: string, reason: "not_assigned" | "wrong_identity", source?: string): null {
    const known = trackerSites(this.config.tracker).includes(site) ? site : "unknown";
    this.deps.onSiteIgnored?.(known, reason);
    this.deps.log.warn(
      { site, check: s.name, reason, ...(source ? { source } : {}) },
      reason === "wrong_identity"
        ? `status of check "${s.name}" claims site "${site}" but was published by ${source}: ignored`
        : `status of check "${s.name}" from site "${site}", where it does not run: ignored`,
    );
    return null;
  }

  /** Evaluates a stored entity again (its `after` passed, a snooze ended, a parent changed). */
  async reevaluate(key: string): Promise<Mutation | null> {
    const cur = await this.deps.store.read(key);
    if (!cur.state) {
      await this.deps.store.clearDue(key);
      return null;
    }
    const entity = cur.state.entity;
    const status = cur.state.obs?.source === "service" ? (cur.state.obs.data as ServiceStatus) : undefined;
    const down = entity.service ? await this.parentsDown(this.parentsOf(entity.service, status?.dependsOn ?? [])) : [];
    const now = this.deps.clock.now();
    const check = entity.service ? this.checkSites.get(entity.service) : undefined;
    return this.engine.mutate(entity, (state) =>
      // A multi-site check is aggregated again: a site may have turned unreachable or come back.
      state.sites && check && check.at.length > 1
        ? this.evaluateState({ ...state, obs: this.aggregate(state.sites, check) }, now, down)
        : this.evaluateState(state, now, down),
    );
  }

  private checkRepo(path: string, key: string, token: string): void {
    const bad = checkRepoInput(path, key, token, this.roots);
    if (bad) {
      this.deps.onRejected?.(bad.includes("outside") ? "outside_roots" : "bad_key");
      throw new PoisonError(bad);
    }
  }

  private observe(
    entity: LoopEntity,
    obs: Observation,
    suppressedBy: string[],
    busy = false,
  ): Promise<Mutation | null> {
    const now = this.deps.clock.now();
    return this.engine.mutate(
      entity,
      (state, _stored, remembered) => {
        if (!isNewer(state, obs)) {
          if (!remembered) this.deps.onStale?.(obs.source);
          return null;
        }
        return this.evaluateState({ ...state, obs }, now, suppressedBy);
      },
      { fold: busy },
    );
  }

  private evaluateState(state: EntityState, now: number, suppressedBy: string[]): Mutation {
    const conditions = evaluate(state.obs, now, this.rules)?.map((c) => this.markDiscovered(state, c)) ?? null;
    const windows = this.maintenance;
    const opts = {
      suppressedBy,
      historyLimit: this.config.loops.historyLimit,
      ...(windows.size ? { maintenance: (kind: string) => windows.covering(state.entity, kind, now) } : {}),
    };
    if (conditions === null) return endSnoozes(state, now, opts);
    return reconcile(state, conditions, now, opts);
  }

  /** A status for a name no check configures is kept, marked as discovered on the mesh. */
  private markDiscovered(state: EntityState, c: Condition): Condition {
    const name = state.entity.service;
    if (!name || this.configured.has(name)) return c;
    return { ...c, evidence: { ...c.evidence, discovered: true } };
  }

  private parentsOf(name: string, fromStatus: string[]): string[] {
    return [...new Set([...(this.config.loops.dependsOn[name] ?? []), ...fromStatus])].filter((p) => p !== name);
  }

  /** The parents that have an active service.down loop right now. */
  private async parentsDown(parents: string[]): Promise<string[]> {
    const down: string[] = [];
    for (const p of parents) {
      const { state } = await this.deps.store.read(entityKey({ type: "service", service: p }));
      const l = state?.loops["service.down"]?.loop;
      if (l && isActive(l.status)) down.push(p);
    }
    return down;
  }

  /** A parent's service.down opened or closed: its children are looked at again on the next tick. */
  private async wakeChildren(changes: LoopChange[]): Promise<void> {
    const parents = changes
      .filter((c) => c.loop.kind === "service.down" && c.event !== "updated")
      .map((c) => c.loop.entity.service ?? "");
    for (const parent of parents) {
      const fromConfig = Object.entries(this.config.loops.dependsOn)
        .filter(([, ps]) => ps.includes(parent))
        .map(([child]) => child);
      const fromStatus = await this.deps.store.childrenOf(parent).catch(() => [] as string[]);
      const keys = [...new Set([...fromConfig, ...fromStatus])].map((c) => entityKey({ type: "service", service: c }));
      await this.deps.store
        .wakeNow(keys, 0)
        .catch((err) => this.deps.log.warn({ err: (err as Error).message }, "could not wake dependent services"));
    }
  }
}
