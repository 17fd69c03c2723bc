import { Bus } from "@mirror/bus";
import { Loop, loopId } from "@mirror/contracts";
import { pino } from "pino";
import { Registry } from "prom-client";

/** Every log line a service wrote, raw and parsed (a pino destination for runService's logDest). */
export class LogSink {
  readonly lines: Record<string, unknown>[] = [];
  readonly raw: string[] = [];
  write(chunk: string): boolean {
    this.raw.push(chunk);
    for (const line of chunk.split("\n").filter(Boolean)) this.lines.push(JSON.parse(line) as Record<string, unknown>);
    return true;
  }
}

/** A bus connection for a test that calls the model endpoints. */
export function callerBus(url: string): Promise<Bus> {
  return Bus.connect({ name: "test-caller", url, log: pino({ level: "silent" }), registry: new Registry() });
}

/** A repo.dirty loop as the loop-detector publishes it, opened two days ago. */
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

export async function metricsText(port: number): Promise<string> {
  return (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
}
