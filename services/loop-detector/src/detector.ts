import type { Bus } from "@mirror/bus";
import { entityKey, type LoopEntity, type MirrorConfig, type RepoGone, type RepoSnapshot, type ServiceStatus } from "@mirror/contracts";
import type { Clock } from "@mirror/kit";
import type { Logger } from "pino";
import { Engine, type EngineDeps } from "./engine.js";
import { evaluate, isNewer } from "./evaluate.js";
import { reconcile } from "./reconcile.js";
import { type ResolvedRules, resolveRules } from "./rules/rule.js";
import { type EntityState, isActive, type LoopChange, type Mutation, type Observation } from "./state.js";
import type { LoopStore } from "./store.js";

export interface DetectorDeps {
  config: MirrorConfig;
  store: LoopStore;
  bus: Bus;
  clock: Clock;
  log: Logger;
  onOpened?: EngineDeps["onOpened"];
  /** Counts inputs that changed nothing because they were older than what is stored. */
  onStale?: (source: Observation["source"]) => void;
}

/** Turns observations into loops: stores each entity's latest input, evaluates the rules, reconciles. */
export class Detector {
  readonly engine: Engine;
  readonly rules: ResolvedRules;

  constructor(private readonly deps: DetectorDeps) {
    this.rules = resolveRules(deps.config.loops);
    this.engine = new Engine({ store: deps.store, bus: deps.bus, log: deps.log, onOpened: deps.onOpened, onChanges: (c) => void this.wakeChildren(c) });
  }

  onRepoSnapshot(s: RepoSnapshot): Promise<Mutation | null> {
    return this.observe({ type: "repo", repo: s.path }, { source: "repo", at: Date.parse(s.observedAt), seq: s.seq, data: s }, []);
  }

  onRepoGone(g: RepoGone): Promise<Mutation | null> {
    return this.observe({ type: "repo", repo: g.path }, { source: "gone", at: Date.parse(g.observedAt), seq: g.seq, data: g }, []);
  }

  async onServiceStatus(s: ServiceStatus): Promise<Mutation | null> {
    const parents = this.parentsOf(s.name, s.dependsOn);
    await Promise.all(s.dependsOn.map((p) => this.deps.store.redis.sadd(`children:${p}`, s.name)));
    const down = await this.parentsDown(parents);
    return this.observe({ type: "service", service: s.name }, { source: "service", at: Date.parse(s.observedAt), seq: s.seq, data: s }, down);
  }

  /** Evaluates a stored entity again (its `after` passed, a snooze ended, a parent changed). */
  async reevaluate(key: string): Promise<Mutation | null> {
    const cur = await this.deps.store.read(key);
    if (!cur.state) {
      await this.deps.store.redis.zrem("due", key);
      return null;
    }
    const entity = cur.state.entity;
    const status = cur.state.obs?.source === "service" ? (cur.state.obs.data as ServiceStatus) : undefined;
    const down = entity.service ? await this.parentsDown(this.parentsOf(entity.service, status?.dependsOn ?? [])) : [];
    const now = this.deps.clock.now();
    return this.engine.mutate(entity, (state) => this.evaluateState(state, now, down));
  }

  private observe(entity: LoopEntity, obs: Observation, suppressedBy: string[]): Promise<Mutation | null> {
    const now = this.deps.clock.now();
    return this.engine.mutate(entity, (state) => {
      if (!isNewer(state, obs)) {
        this.deps.onStale?.(obs.source);
        return null;
      }
      return this.evaluateState({ ...state, obs }, now, suppressedBy);
    });
  }

  private evaluateState(state: EntityState, now: number, suppressedBy: string[]): Mutation {
    const conditions = evaluate(state.obs, now, this.rules);
    if (conditions === null) return { state, changes: [] };
    return reconcile(state, conditions, now, { suppressedBy, historyLimit: this.deps.config.loops.historyLimit });
  }

  private parentsOf(name: string, fromStatus: string[]): string[] {
    return [...new Set([...(this.deps.config.loops.dependsOn[name] ?? []), ...fromStatus])].filter((p) => p !== name);
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
    const parents = changes.filter((c) => c.loop.kind === "service.down" && c.event !== "updated").map((c) => c.loop.entity.service ?? "");
    for (const parent of parents) {
      const fromConfig = Object.entries(this.deps.config.loops.dependsOn).filter(([, ps]) => ps.includes(parent)).map(([child]) => child);
      const fromStatus = await this.deps.store.redis.smembers(`children:${parent}`).catch(() => [] as string[]);
      const keys = [...new Set([...fromConfig, ...fromStatus])].map((c) => entityKey({ type: "service", service: c }));
      await this.deps.store.wakeNow(keys, 0).catch((err) => this.deps.log.warn({ err: (err as Error).message }, "could not wake dependent services"));
    }
  }
}
