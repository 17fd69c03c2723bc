import { Bus } from "@mirror/bus";
import {
  type Loop,
  type LoopEvent,
  LoopEvent as LoopEventSchema,
  type RepoSnapshot,
  RepoSnapshot as RepoSnapshotSchema,
  repoKey,
  repoSnapshot,
  type ServiceStatus,
  ServiceStatus as ServiceStatusSchema,
  serviceStatus,
} from "@mirror/contracts";
import { createLogger, ManualClock, parseConfig, type RunningService, runService } from "@mirror/kit";
import { startNats, startRedis, type ServerHandle, waitFor } from "@mirror/testkit";
import type { Subscription } from "@nats-io/nats-core";
import { Registry } from "prom-client";
import type { z } from "zod";
import { loopDetectorSpec } from "../src/app.js";
import { raw } from "@mirror/bus/testing";

export const silent = createLogger("test", { write: () => true } as never, "silent");

/** What the loop-detector's HTTP API answers. */
export interface HttpReply {
  loops?: Loop[];
  loop?: Loop;
  error?: { code: string; message: string };
}

/** A loop event as seen on the bus, with its subject and Nats-Msg-Id. */
export interface SeenEvent {
  subject: string;
  msgId: string;
  data: LoopEvent;
}

/** Private NATS and Redis, a publisher bus (acting as the scanner) and a recorder of loop events. */
export class Harness {
  readonly clock = new ManualClock(Date.parse("2026-03-01T12:00:00Z"));
  readonly events: SeenEvent[] = [];
  readonly detectors: RunningService[] = [];
  private seq = 0;
  private sub: Subscription | undefined;

  private constructor(
    readonly nats: ServerHandle,
    readonly redis: ServerHandle,
    readonly scanner: Bus,
  ) {}

  static async start(): Promise<Harness> {
    const [nats, redis] = await Promise.all([startNats(), startRedis()]);
    const scanner = await Bus.connect({
      name: "scanner",
      url: nats.url,
      log: silent,
      registry: new Registry(),
      publishDeadlineMs: 10_000,
    });
    const h = new Harness(nats, redis, scanner);
    h.sub = raw(scanner).nc.subscribe("mirror.loop.>", {
      callback: (_err, m) => {
        h.events.push({
          subject: m.subject,
          msgId: m.headers?.get("Nats-Msg-Id") ?? "",
          data: LoopEventSchema.parse(m.json()),
        });
      },
    });
    return h;
  }

  config(yaml: string) {
    return parseConfig(yaml, { MIRROR_NATS_URL: this.nats.url, MIRROR_REDIS_URL: this.redis.url });
  }

  /** A detector on `yaml`; with `configFile` (holding the same YAML) it watches that file for reloads. */
  async detector(yaml: string, configFile?: string): Promise<RunningService> {
    const env = configFile
      ? { MIRROR_CONFIG: configFile, MIRROR_NATS_URL: this.nats.url, MIRROR_REDIS_URL: this.redis.url }
      : undefined;
    const d = await runService(loopDetectorSpec(), {
      config: this.config(yaml),
      port: 0,
      clock: this.clock,
      httpToken: "loop-detector-test-token",
      logDest: process.env.LD_DEBUG ? process.stderr : ({ write: () => true } as never),
      ...(env ? { env } : {}),
    });
    this.detectors.push(d);
    return d;
  }

  /** A snapshot of `path` as the scanner would publish it, observed now; `over` changes fields. */
  snapshot(path: string, over: Partial<z.input<typeof RepoSnapshotSchema>> = {}): RepoSnapshot {
    return RepoSnapshotSchema.parse({
      repoKey: repoKey(path),
      path,
      observedAt: new Date(this.clock.now()).toISOString(),
      seq: ++this.seq,
      kind: "repo",
      branch: "main",
      detached: false,
      head: { sha: "a".repeat(40), committedAt: new Date(this.clock.now() - 86_400_000).toISOString() },
      upstream: "origin/main",
      ahead: 0,
      behind: 0,
      staged: 0,
      unstaged: 0,
      untracked: 0,
      conflicted: 0,
      dirtySince: null,
      stashes: { count: 0, oldestAt: null },
      branches: [],
      defaultBranch: "main",
      operation: null,
      operationSince: null,
      hasRemote: true,
      error: null,
      ...over,
    });
  }

  async publish(s: RepoSnapshot): Promise<void> {
    await this.scanner.publish(repoSnapshot, s.repoKey, s, { id: `snap:${s.repoKey}:${s.seq}:${s.observedAt}` });
  }

  /** Waits until the detector has handled (acked) everything published to `durable`, and loop events have arrived. */
  async settled(durable = "loop-detector-repo"): Promise<void> {
    const jsm = await raw(this.scanner).manager();
    await waitFor(`${durable} drained`, async () => {
      const info = await jsm.consumers.info("MIRROR", durable);
      return info.num_pending === 0 && info.num_ack_pending === 0;
    });
    await this.detectorsFlushed();
    await raw(this.scanner).nc.flush();
  }

  /** Waits until no detector holds unpublished loop events. */
  private async detectorsFlushed(): Promise<void> {
    for (const d of this.detectors.filter((x) => x.ctx.store.status === "ready"))
      await waitFor("outbox empty", async () => (await d.ctx.store.zcard("outbox")) === 0);
  }

  /** A service status as the tracker would publish it, observed now. */
  async publishStatus(
    over: Partial<z.input<typeof ServiceStatusSchema>> & { name: string; state: ServiceStatus["state"] },
  ): Promise<void> {
    const s = ServiceStatusSchema.parse({
      kind: "http",
      observedAt: new Date(this.clock.now()).toISOString(),
      seq: ++this.seq,
      since: new Date(this.clock.now()).toISOString(),
      ...over,
    });
    await this.scanner.publish(serviceStatus, s.name, s, { id: `status:${s.name}:${s.seq}` });
  }

  /** HTTP on a detector's port, with its token (`auth: false` sends none): returns status and JSON. */
  async http(
    d: RunningService,
    method: string,
    path: string,
    body?: unknown,
    auth = true,
  ): Promise<{ status: number; json: HttpReply }> {
    const res = await fetch(`http://127.0.0.1:${d.port}${path}`, {
      method,
      headers: {
        ...(body === undefined ? {} : { "content-type": "application/json" }),
        ...(auth ? { authorization: `Bearer ${d.httpToken}` } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, json: (await res.json()) as HttpReply };
  }

  eventsFor(loopId: string): SeenEvent[] {
    return this.events.filter((e) => e.data.loop.id === loopId);
  }

  async stop(): Promise<void> {
    for (const d of this.detectors) await d.stop();
    this.sub?.unsubscribe();
    await this.scanner.close();
    await Promise.all([this.nats.dispose(), this.redis.dispose()]);
  }
}
