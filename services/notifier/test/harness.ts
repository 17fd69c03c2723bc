import { writeFileSync } from "node:fs";
import { Bus } from "@mirror/bus";
import { type Loop, loopClosed, loopId, loopOpened, loopUpdated } from "@mirror/contracts";
import { createLogger, type ManualClock, parseConfig, type RunningService, runService } from "@mirror/kit";
import { type Receiver, type ServerHandle, startNats, startReceiver, startRedis } from "@mirror/testkit";
import { Redis } from "ioredis";
import { Registry } from "prom-client";
import { notifierService } from "../src/app.js";

export const silent = createLogger("test", { write: () => true } as never, "silent");

/** A loop as the loop-detector would publish it. */
export function makeLoop(over: Partial<Loop> & { kind?: string; repo?: string; service?: string } = {}): Loop {
  const kind = over.kind ?? "repo.dirty";
  const entity =
    over.entity ??
    (over.service
      ? { type: "service" as const, service: over.service }
      : { type: "repo" as const, repo: over.repo ?? "/src/a" });
  const at = over.openedAt ?? "2026-01-01T00:00:00.000Z";
  return {
    id: loopId(kind, `${entity.type}:${entity.repo ?? entity.service}`),
    kind,
    entity,
    severity: "low",
    status: "open",
    summary: `${kind} on ${entity.repo ?? entity.service}`,
    openedAt: at,
    updatedAt: at,
    closedAt: null,
    snoozedUntil: null,
    suppressedBy: [],
    rev: 1,
    evidence: {},
    triage: null,
    history: [],
    ...over,
  } as Loop;
}

/** Private NATS, Redis and a receiver, plus a notifier running in-process. */
export class Harness {
  svc: RunningService | undefined;
  /** Every log line the notifier wrote, parsed. */
  readonly logs: Record<string, unknown>[] = [];
  private constructor(
    readonly nats: ServerHandle,
    readonly redis: ServerHandle,
    readonly receiver: Receiver,
    readonly publisher: Bus,
  ) {}

  static async start(): Promise<Harness> {
    const [nats, redis, receiver] = await Promise.all([startNats(), startRedis({ appendonly: true }), startReceiver()]);
    const publisher = await Bus.connect({
      name: "loop-detector",
      url: nats.url,
      log: silent,
      registry: new Registry(),
      publishDeadlineMs: 10_000,
    });
    return new Harness(nats, redis, receiver, publisher);
  }

  /** The notifier section as YAML flow text; RECEIVER is replaced by the receiver's URL. */
  /** With `configFile`, the same text is written there and the notifier reloads on its changes. */
  async startNotifier(
    notifierYaml: string,
    opts: { clock?: ManualClock; random?: () => number; vars?: Record<string, string>; configFile?: string } = {},
  ): Promise<RunningService> {
    const env = {
      MIRROR_NATS_URL: this.nats.url,
      MIRROR_REDIS_URL: this.redis.url,
      ...(opts.configFile ? { MIRROR_CONFIG: opts.configFile } : {}),
    };
    let yaml = notifierYaml.replaceAll("RECEIVER", this.receiver.url);
    for (const [k, v] of Object.entries(opts.vars ?? {})) yaml = yaml.replaceAll(k, v);
    if (opts.configFile) writeFileSync(opts.configFile, `notifier: ${yaml}\n`);
    const config = parseConfig(`notifier: ${yaml}\n`, env);
    const logDest = { write: (line: string) => void this.logs.push(JSON.parse(line) as Record<string, unknown>) };
    this.svc = await runService(notifierService({ tickMs: 25, random: opts.random ?? (() => 0.5) }), {
      config,
      port: 0,
      clock: opts.clock,
      logDest: logDest as never,
      env,
    });
    return this.svc;
  }

  async publish(loop: Loop, reason = "test"): Promise<void> {
    const contract = loop.status === "closed" ? loopClosed : loop.rev === 1 ? loopOpened : loopUpdated;
    await this.publisher.publish(contract, loop.id, { loop, reason }, { id: `${loop.id}:${loop.rev}` });
  }

  /** A Redis client on the notifier's own keys. */
  store(): Redis {
    return new Redis(this.redis.url, { keyPrefix: "mirror:notifier:" });
  }

  async stop(): Promise<void> {
    await this.svc?.stop();
    await this.publisher.close();
    await this.receiver.close();
    await Promise.all([this.nats.dispose(), this.redis.dispose()]);
  }
}
