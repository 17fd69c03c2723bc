import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { join } from "node:path";
import { tempDir } from "@mirror/testkit";

/** A container as the fake daemon holds it; rendered in the Engine API's own JSON shapes. */
export interface FakeContainer {
  id: string;
  name: string;
  status: "running" | "exited" | "restarting" | "paused" | "created";
  restarts: number;
  health?: "healthy" | "unhealthy" | "starting";
  exitCode?: number;
  labels?: Record<string, string>;
}

export interface FakeDocker {
  socket: string;
  containers: FakeContainer[];
  /** Overrides every answer (e.g. an HTML error page), when set. */
  override: ((req: IncomingMessage, res: ServerResponse) => void) | null;
  paths: string[];
  close(): Promise<void>;
}

/**
 * A Docker Engine API fake on a Unix socket: GET /containers/json (with `all` and a label
 * filter) and GET /containers/{id|name}/json, in the daemon's JSON format (API v1.4x).
 */
export async function startDockerFake(containers: FakeContainer[] = []): Promise<FakeDocker> {
  const socket = join(tempDir("mirror-docker-"), "docker.sock");
  const fake: FakeDocker = { socket, containers, override: null, paths: [], close: async () => undefined };
  const server = createServer((req, res) => {
    fake.paths.push(req.url ?? "");
    if (fake.override) return fake.override(req, res);
    const url = new URL(req.url ?? "/", "http://docker");
    const path = url.pathname.replace(/^\/v1\.\d+/, "");
    const send = (status: number, body: unknown) => {
      res.writeHead(status, {
        "content-type": "application/json",
        "api-version": "1.47",
        server: "Docker/27.3.1 (linux)",
      });
      res.end(JSON.stringify(body));
    };
    if (path === "/containers/json") {
      const all = url.searchParams.get("all") === "true" || url.searchParams.get("all") === "1";
      const filters = JSON.parse(url.searchParams.get("filters") ?? "{}") as { label?: string[] };
      const list = fake.containers
        .filter((c) => all || c.status === "running")
        .filter((c) =>
          (filters.label ?? []).every((l) => {
            const [k, v] = l.split("=");
            return c.labels?.[k as string] === v;
          }),
        )
        .map((c) => ({
          Id: c.id,
          Names: [`/${c.name}`],
          Image: "alpine:3.20",
          Command: "sleep infinity",
          Created: 1_733_000_000,
          State: c.status,
          Status:
            c.status === "running"
              ? `Up 2 hours${c.health ? ` (${c.health})` : ""}`
              : `Exited (${c.exitCode ?? 0}) 5 minutes ago`,
          Labels: c.labels ?? {},
        }));
      return send(200, list);
    }
    const m = /^\/containers\/([^/]+)\/json$/.exec(path);
    if (m) {
      const key = decodeURIComponent(m[1] as string);
      const c = fake.containers.find((x) => x.id === key || x.name === key || x.id.startsWith(key));
      if (!c) return send(404, { message: `No such container: ${key}` });
      return send(200, {
        Id: c.id,
        Name: `/${c.name}`,
        RestartCount: c.restarts,
        State: {
          Status: c.status,
          Running: c.status === "running" || c.status === "restarting",
          Paused: c.status === "paused",
          Restarting: c.status === "restarting",
          OOMKilled: false,
          Dead: false,
          Pid: c.status === "running" ? 4242 : 0,
          ExitCode: c.exitCode ?? 0,
          Error: "",
          StartedAt: "2026-12-06T02:00:00.000000000Z",
          FinishedAt: "0001-01-01T00:00:00Z",
          ...(c.health
            ? { Health: { Status: c.health, FailingStreak: c.health === "unhealthy" ? 3 : 0, Log: [] } }
            : {}),
        },
        Config: { Labels: c.labels ?? {} },
      });
    }
    return send(404, { message: "page not found" });
  });
  await new Promise<void>((r) => server.listen(socket, r));
  fake.close = () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return fake;
}
