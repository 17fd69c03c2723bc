import { request } from "node:http";
import type { z } from "zod";
import type { DockerCheck } from "@mirror/contracts";
import { type Condition, failing } from "../conditions.js";
import { type ProbeResult, unreachable } from "./result.js";

export type DockerCheckConfig = z.infer<typeof DockerCheck>;

/** The label a container carries to be tracked by a `docker: { discover: true }` check. */
export const DISCOVER_LABEL = "mirror.check=true";

/** Most bytes of one Engine API answer read (an inspect is a few kB). */
const MAX_ANSWER = 4 * 1024 * 1024;

/** One GET on the Engine API socket: the status and the parsed JSON, or the reason there is none. */
export function engineGet(
  socket: string,
  path: string,
  timeout: number,
): Promise<{ status: number; json: unknown } | { error: string }> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (r: { status: number; json: unknown } | { error: string }) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      req.destroy();
      resolve(r);
    };
    const req = request(
      { socketPath: socket, path, method: "GET", headers: { host: "docker", accept: "application/json" } },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (c: Buffer) => {
          size += c.length;
          if (size > MAX_ANSWER) finish({ error: "the Docker Engine API answer is too large" });
          else chunks.push(c);
        });
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          try {
            finish({ status: res.statusCode ?? 0, json: JSON.parse(text) });
          } catch {
            finish({
              error: `not a Docker Engine API answer (HTTP ${res.statusCode}, ${JSON.stringify(text.slice(0, 40))})`,
            });
          }
        });
        res.on("error", (e) => finish({ error: e.message }));
      },
    );
    const timer = setTimeout(() => finish({ error: `timed out after ${timeout}ms` }), timeout);
    req.on("error", (e: NodeJS.ErrnoException) => finish({ error: socketError(socket, e) }));
    req.end();
  });
}

function socketError(socket: string, e: NodeJS.ErrnoException): string {
  if (e.code === "ENOENT")
    return `no Docker socket at ${socket} (ENOENT): is Docker running, or is the socket mounted?`;
  if (e.code === "EACCES")
    return `no permission on ${socket} (EACCES): run the tracker in the docker group or mount the socket for it`;
  if (e.code === "ECONNREFUSED") return `nothing listens on ${socket} (ECONNREFUSED)`;
  return `${e.message}${e.code ? ` (${e.code})` : ""}`;
}

/** What the probe reads of GET /containers/{id}/json. */
interface Inspect {
  Name?: unknown;
  RestartCount?: unknown;
  State?: {
    Status?: unknown;
    Running?: unknown;
    Restarting?: unknown;
    ExitCode?: unknown;
    Health?: { Status?: unknown } | null;
  };
}

/** Inspects one container: running is reachable; its restart count and health go to the conditions. */
export async function probeContainer(
  socket: string,
  ref: string | { id: string; name: string },
  timeout: number,
  conditions: readonly Condition[],
  now: () => number,
): Promise<ProbeResult> {
  const started = performance.now();
  const { id, name: container } = typeof ref === "string" ? { id: ref, name: ref } : ref;
  const got = await engineGet(socket, `/containers/${encodeURIComponent(id)}/json`, timeout);
  if ("error" in got) return unreachable(started, got.error);
  if (got.status === 404) return unreachable(started, `no such container: ${container}`);
  const c = got.json as Inspect;
  if (got.status !== 200 || typeof c !== "object" || c === null || typeof c.State !== "object" || c.State === null) {
    const message =
      typeof (got.json as { message?: unknown })?.message === "string"
        ? `: ${(got.json as { message: string }).message.slice(0, 200)}`
        : "";
    return unreachable(
      started,
      `the Docker Engine API answered HTTP ${got.status} without a container state${message}`,
    );
  }
  const latencyMs = performance.now() - started;
  const status = typeof c.State.Status === "string" ? c.State.Status : "unknown";
  const running = c.State.Running === true;
  const restarts = typeof c.RestartCount === "number" ? c.RestartCount : 0;
  const health = typeof c.State.Health?.Status === "string" ? c.State.Health.Status : "none";
  const details = {
    container,
    status,
    running,
    restarts,
    health,
    ...(typeof c.State.ExitCode === "number" && !running ? { exitCode: c.State.ExitCode } : {}),
  };
  if (!running)
    return unreachable(
      started,
      `container ${container} is ${status}${typeof c.State.ExitCode === "number" && status === "exited" ? ` (exit code ${c.State.ExitCode})` : ""}`,
      details,
    );
  return {
    reachable: true,
    latencyMs,
    error: null,
    failed: failing(conditions, { latencyMs, running, restarts, health, now: now() }),
    cert: null,
    details,
  };
}

/** The containers labelled mirror.check=true (running or not), by name without the leading slash. */
export async function listLabelled(
  socket: string,
  timeout: number,
): Promise<{ containers: { id: string; name: string }[] } | { error: string }> {
  const filters = encodeURIComponent(JSON.stringify({ label: [DISCOVER_LABEL] }));
  const got = await engineGet(socket, `/containers/json?all=true&filters=${filters}`, timeout);
  if ("error" in got) return got;
  if (got.status !== 200 || !Array.isArray(got.json))
    return { error: `the Docker Engine API answered HTTP ${got.status} without a container list` };
  const containers: { id: string; name: string }[] = [];
  for (const c of got.json as { Id?: unknown; Names?: unknown; Labels?: unknown }[]) {
    if (typeof c?.Id !== "string") continue;
    // A fake or old daemon may ignore the filter: check the label here too.
    const labels = (c.Labels ?? {}) as Record<string, unknown>;
    if (labels["mirror.check"] !== "true") continue;
    const first = Array.isArray(c.Names) ? c.Names.find((n): n is string => typeof n === "string") : undefined;
    containers.push({ id: c.Id, name: (first ?? c.Id.slice(0, 12)).replace(/^\//, "") });
  }
  return { containers };
}
