import { createHash } from "node:crypto";
import { hostname } from "node:os";
import type { MirrorConfig } from "@mirror/contracts";
import type { Redis } from "ioredis";
import type { Logger } from "pino";
import { Gauge, type Registry } from "prom-client";
import { defineLua, runLua } from "./lua.js";
import { LEAVE } from "./partition.js";

/** What a replica says about its config: a hash of its section and one per top-level key of it (never a value). */
export interface ConfigDigest {
  hash: string;
  keys: Record<string, string>;
}

/** JSON with object keys sorted, so two equal configs give the same text whatever order the YAML had. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (v && typeof v === "object")
    return `{${Object.keys(v)
      .sort()
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  return JSON.stringify(v) ?? "null";
}

const short = (text: string, n: number) => createHash("sha256").update(text).digest("hex").slice(0, n);

/** Keys that differ between replicas by design: the HTTP port, and a remote probe site's name (`tracker.site`). */
const PER_REPLICA = new Set(["port", "site"]);

/**
 * The digest of a service's effective config section. `port` and `site` are left out (replicas on
 * one host differ in port, by `MIRROR_PORT_OFFSET` or on purpose; probe sites by name). Secrets
 * are hashed in (two replicas with different webhook tokens differ) but only truncated SHA-256
 * digests ever leave the process.
 */
export function configDigest(section: unknown): ConfigDigest {
  const obj =
    section && typeof section === "object"
      ? (section as Record<string, unknown>)
      : section === undefined
        ? {}
        : { value: section };
  const keys: Record<string, string> = {};
  for (const k of Object.keys(obj).sort())
    if (!PER_REPLICA.has(k) && obj[k] !== undefined) keys[k] = short(canonical(obj[k]), 12);
  return { hash: short(canonical(keys), 16), keys };
}

/**
 * The config section a service runs on (dotted: `model.openai`): its manifest's, else the one
 * its port is read from (`(c) => c.tracker.port` reads `tracker`); undefined when neither says.
 */
export function configSectionOf(spec: { manifest?: object; port: (c: MirrorConfig) => number }): string | undefined {
  const declared = (spec.manifest as { config?: { section?: unknown } } | undefined)?.config?.section;
  if (typeof declared === "string") return declared;
  let first: string | undefined;
  const inner: object = new Proxy({}, { get: () => 0 });
  const probe = new Proxy(
    {},
    {
      get: (_, k) => {
        if (typeof k === "string") first ??= k;
        return inner;
      },
    },
  );
  try {
    spec.port(probe as MirrorConfig);
  } catch {
    return undefined;
  }
  return first;
}

/** The value at a dotted path of the config (undefined when a part is missing). */
export function sectionAt(config: MirrorConfig, path: string | undefined): unknown {
  if (!path) return undefined;
  return path
    .split(".")
    .reduce<unknown>((v, k) => (v && typeof v === "object" ? (v as Record<string, unknown>)[k] : undefined), config);
}

/**
 * A copy of `next` whose values at `paths` (dotted) are `running`'s: what a service runs after a
 * reload that changed settings it reads only at start.
 */
export function withRunningPaths(next: MirrorConfig, running: MirrorConfig, paths: readonly string[]): MirrorConfig {
  const out = structuredClone(next) as unknown as Record<string, unknown>;
  for (const p of paths) {
    const parts = p.split(".");
    const last = parts.pop() as string;
    let src: unknown = running;
    let dst: unknown = out;
    for (const k of parts) {
      src = src && typeof src === "object" ? (src as Record<string, unknown>)[k] : undefined;
      dst = dst && typeof dst === "object" ? (dst as Record<string, unknown>)[k] : undefined;
    }
    if (!dst || typeof dst !== "object") continue;
    const v = src && typeof src === "object" ? (src as Record<string, unknown>)[last] : undefined;
    if (v === undefined) delete (dst as Record<string, unknown>)[last];
    else (dst as Record<string, unknown>)[last] = v;
  }
  return out as unknown as MirrorConfig;
}

/**
 * One round: (re)write this replica's entry with a TTL the Redis server expires, add it to the
 * set, drop members whose entry expired, and return every live entry. Entry keys derive from the
 * set's key, so they carry the service's prefix (and its ACL pattern), like partition rounds.
 */
const ROUND = defineLua("configPeersRound", {
  keys: ["set"],
  args: ["self", "entry", "ttlMs"],
  body: `
redis.call('SET', set .. ':' .. self, entry, 'PX', ttlMs)
redis.call('SADD', set, self)
local live = {}
for _, m in ipairs(redis.call('SMEMBERS', set)) do
  local e = redis.call('GET', set .. ':' .. m)
  if e then table.insert(live, m); table.insert(live, e) else redis.call('SREM', set, m) end
end
return live
`,
});

/** A peer whose config differs from this replica's. */
export interface ConfigMismatch {
  peer: string;
  peerHash: string;
  /** Top-level keys of the section whose values differ (or that one of the two lacks). */
  differs: string[];
}

/** The top-level keys two digests disagree on. */
export function differingKeys(a: ConfigDigest, b: ConfigDigest): string[] {
  return [...new Set([...Object.keys(a.keys), ...Object.keys(b.keys)])].filter((k) => a.keys[k] !== b.keys[k]).sort();
}

export interface ConfigPeersOptions {
  store: Redis;
  log: Logger;
  registry: Registry;
  /** The service (its replicas share its Redis prefix: exactly the set compared). */
  service: string;
  /** Its config section (`tracker`), to name the differing keys by their path. */
  section?: string;
  /** This replica's name in logs; default host:pid:port. */
  self?: string;
  port?: number;
  /** How often a round runs while every replica agrees (default 30 s); an entry lives 4 of these. */
  everyMs?: number;
  /** How often while a mismatch lasts (default 5 s, at most everyMs): a reload that makes them agree is seen soon. */
  mismatchEveryMs?: number;
  /** How often a mismatch that lasts is logged again (default 10 min). */
  repeatMs?: number;
}

/**
 * Compares a service's config with its other replicas': each replica keeps its config digest in
 * the service's own Redis prefix (shared by its replicas only, with identity on too) with a
 * server-side TTL, and reads the others' every round. Two replicas of one service with
 * different configs share work by different rules (a check's interval, a route), so a mismatch
 * is logged as a warning naming both replicas and the differing keys, and
 * `mirror_config_mismatch` is 1 until they agree (no label of its own: the
 * scrape labels it with the service and instance, as every mirror_* metric). A reload publishes the new digest at
 * once. Rounds that fail (the store away) are logged at debug and change nothing.
 */
export class ConfigPeers {
  readonly self: string;
  private digest: ConfigDigest;
  private readonly key = "replicas:config";
  private readonly everyMs: number;
  private readonly mismatchEveryMs: number;
  private readonly repeatMs: number;
  private readonly gauge: Gauge;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private inFlight: Promise<void> | undefined;
  private again = false;
  /** Last logged mismatch (peer:hash list) and when. */
  private logged = "";
  private loggedAt = 0;
  /** The peers that differ now, from the last round. */
  mismatches: ConfigMismatch[] = [];

  constructor(
    private readonly opts: ConfigPeersOptions,
    digest: ConfigDigest,
  ) {
    this.self = opts.self ?? `${hostname()}:${process.pid}${opts.port ? `:${opts.port}` : ""}`;
    this.digest = digest;
    this.everyMs = opts.everyMs ?? 30_000;
    this.mismatchEveryMs = Math.min(opts.mismatchEveryMs ?? 5_000, this.everyMs);
    this.repeatMs = opts.repeatMs ?? 600_000;
    const name = "mirror_config_mismatch";
    this.gauge =
      (opts.registry.getSingleMetric(name) as Gauge | undefined) ??
      new Gauge({
        name,
        help: "1 while another replica of this service runs with a different config (hash of its section), else 0",
        registers: [opts.registry],
      });
    this.gauge.set(0);
  }

  /** Runs a round now, then one every `everyMs` (every `mismatchEveryMs` while a mismatch lasts). */
  async start(): Promise<void> {
    await this.round();
    this.schedule();
  }

  /** A reload applied a new config: says so to the others now. */
  update(digest: ConfigDigest): Promise<void> {
    this.digest = digest;
    return this.round();
  }

  private schedule(): void {
    if (this.stopped) return;
    // Idle replicas that agree compare every 30 s (7 services' rounds every 5 s were a steady
    // share of idle CPU); a newcomer compares at once on start and a reload at once on apply.
    const ms = this.mismatches.length ? this.mismatchEveryMs : this.everyMs;
    this.timer = setTimeout(() => void this.round().finally(() => this.schedule()), ms);
    this.timer.unref?.();
  }

  /** One round; a round asked for while one runs runs again right after (it may carry a newer digest). */
  round(): Promise<void> {
    if (this.inFlight) {
      this.again = true;
      return this.inFlight;
    }
    this.inFlight = this.roundOnce().finally(() => {
      this.inFlight = undefined;
      if (this.again && !this.stopped) {
        this.again = false;
        void this.round();
      }
    });
    return this.inFlight;
  }

  private async roundOnce(): Promise<void> {
    let flat: string[];
    try {
      const entry = JSON.stringify(this.digest);
      const ttlMs = this.everyMs * 4;
      flat = (await runLua(this.opts.store, ROUND, { set: this.key }, { self: this.self, entry, ttlMs })) as string[];
    } catch (err) {
      this.opts.log.debug({ err: (err as Error).message }, "config digest not shared with the other replicas");
      return;
    }
    if (this.stopped) return;
    const mismatches: ConfigMismatch[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const peer = flat[i] as string;
      if (peer === this.self) continue;
      let theirs: ConfigDigest;
      try {
        theirs = JSON.parse(flat[i + 1] as string) as ConfigDigest;
      } catch {
        continue;
      }
      if (theirs.hash !== this.digest.hash)
        mismatches.push({ peer, peerHash: theirs.hash, differs: differingKeys(this.digest, theirs) });
    }
    this.note(mismatches);
  }

  private note(mismatches: ConfigMismatch[]): void {
    this.mismatches = mismatches;
    this.gauge.set(mismatches.length ? 1 : 0);
    const sig =
      mismatches.map((m) => `${m.peer}=${m.peerHash}`).join(",") + (mismatches.length ? `/${this.digest.hash}` : "");
    const now = performance.now();
    if (sig === this.logged && (!sig || now - this.loggedAt < this.repeatMs)) return;
    if (!sig) {
      this.opts.log.info(
        { self: this.self, hash: this.digest.hash },
        "replicas of this service run with the same config again",
      );
    } else {
      for (const m of mismatches)
        this.opts.log.warn(
          {
            service: this.opts.service,
            self: this.self,
            hash: this.digest.hash,
            peer: m.peer,
            peerHash: m.peerHash,
            differs: m.differs,
          },
          `CONFIG MISMATCH: replicas ${this.self} and ${m.peer} of ${this.opts.service} run with different configs (${m.differs.length ? `${m.differs.map((k) => (this.opts.section ? `${this.opts.section}.${k}` : k)).join(", ")} differ` : "hashes differ"}); they share work by different rules until both read the same mirror.yaml`,
        );
    }
    this.logged = sig;
    this.loggedAt = now;
  }

  /** Leaves at once (the others stop comparing with it now, not after the TTL). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.inFlight?.catch(() => undefined);
    await runLua(this.opts.store, LEAVE, { set: this.key }, { self: this.self }).catch(() => undefined);
  }
}
