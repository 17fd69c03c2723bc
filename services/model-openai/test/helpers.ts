import { Bus } from "@mirror/bus";
import { Loop, loopId } from "@mirror/contracts";
import { createLogger, parseConfig, type RunningService, runService, type ServiceSpec } from "@mirror/kit";
import type { ServerHandle } from "@mirror/testkit";
import { Registry } from "prom-client";

/** Every log line a service wrote, as parsed JSON (pino sink). */
export class LogSink {
  readonly lines: Record<string, unknown>[] = [];
  readonly raw: string[] = [];
  write(chunk: string): boolean {
    this.raw.push(chunk);
    for (const line of chunk.split("\n").filter(Boolean)) this.lines.push(JSON.parse(line) as Record<string, unknown>);
    return true;
  }
}

export async function runAdapter(spec: ServiceSpec, yaml: string, servers: { nats: ServerHandle; redis: ServerHandle }) {
  const logs = new LogSink();
  const config = parseConfig(yaml, { MIRROR_NATS_URL: servers.nats.url, MIRROR_REDIS_URL: servers.redis.url });
  const svc: RunningService = await runService(spec, { config, port: 0, logDest: logs as never });
  return { svc, logs };
}

export function callerBus(url: string): Promise<Bus> {
  return Bus.connect({ name: "test-caller", url, log: createLogger("t", { write: () => true } as never, "silent"), registry: new Registry() });
}

export async function metrics(port: number): Promise<string> {
  return (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
}

export function dirtyLoop(repo: string, evidence: Record<string, unknown> = { unstaged: 3 }): Loop {
  const at = new Date(Date.now() - 2 * 86_400_000).toISOString();
  return Loop.parse({
    id: loopId("repo.dirty", `repo:${repo}`),
    kind: "repo.dirty",
    entity: { type: "repo", repo },
    severity: "low",
    status: "open",
    summary: `uncommitted changes in ${repo}`,
    openedAt: at,
    updatedAt: at,
    rev: 1,
    evidence,
  });
}

/** The error a request failed with, for assertions on its code and message. */
export async function failure(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (err) {
    return { code: (err as { code: string }).code, message: (err as Error).message };
  }
  throw new Error("expected the request to fail");
}
