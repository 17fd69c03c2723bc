import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { ServiceStatus } from "@mirror/contracts";
import { type Clock, createLogger, parseConfig, type RunningService, runService } from "@mirror/kit";
import { waitFor } from "@mirror/testkit";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { type RunningTracker, trackerSpec } from "../src/app.js";

export const silent = createLogger("test", { write: () => true } as never, "silent");

/** A real HTTP server whose behaviour a test changes on the fly. */
export interface TestHttp {
  url: string;
  port: number;
  handle: (req: IncomingMessage, res: ServerResponse) => void;
  hits: number;
  close(): Promise<void>;
}

export async function startHttp(port = 0): Promise<TestHttp> {
  const srv: TestHttp = {
    url: "",
    port: 0,
    hits: 0,
    handle: (_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ status: "ok" }));
    },
    close: async () => undefined,
  };
  const server: Server = createServer((req, res) => {
    srv.hits++;
    srv.handle(req, res);
  });
  await new Promise<void>((r) => server.listen(port, "127.0.0.1", r));
  const addr = server.address();
  srv.port = typeof addr === "object" && addr ? addr.port : port;
  srv.url = `http://127.0.0.1:${srv.port}`;
  srv.close = () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return srv;
}

/** The tracker service run in-process against real NATS and Redis, plus a recorder of its statuses. */
export interface TrackerRun {
  svc: RunningService;
  tracker: RunningTracker;
  nc: NatsConnection;
  statuses: ServiceStatus[];
  /** Every JSON log line the service wrote. */
  logs: string[];
  /** The tracker's HTTP base URL. */
  url: string;
  /** The HTTP token state changes and /ping/<name> need. */
  token: string;
  /** `<url>/ping/<the heartbeat's key>`. */
  pingUrl(name: string): string;
  latest(name: string): ServiceStatus | undefined;
  waitState(name: string, state: ServiceStatus["state"], timeout?: number): Promise<ServiceStatus>;
  stop(): Promise<void>;
}

const TEST_TOKEN = "tracker-test-token";

export async function runTracker(
  yaml: string,
  urls: { nats: string; redis: string },
  opts: { clock?: Clock; env?: Record<string, string>; configFile?: string } = {},
): Promise<TrackerRun> {
  const config = parseConfig(
    yaml,
    { ...opts.env, MIRROR_NATS_URL: urls.nats, MIRROR_REDIS_URL: urls.redis },
    opts.configFile,
  );
  const logs: string[] = [];
  const nc = await connect({ servers: urls.nats });
  const statuses: ServiceStatus[] = [];
  nc.subscribe("mirror.service.status.>", { callback: (_e, m) => void statuses.push(m.json<ServiceStatus>()) });
  await nc.flush();
  let tracker: RunningTracker | undefined;
  const svc = await runService(
    trackerSpec((t) => {
      tracker = t;
    }),
    {
      config,
      port: 0,
      logDest: { write: (line: string) => void logs.push(line) } as never,
      clock: opts.clock,
      env: opts.configFile
        ? { ...opts.env, MIRROR_CONFIG: opts.configFile, MIRROR_NATS_URL: urls.nats, MIRROR_REDIS_URL: urls.redis }
        : {},
      httpToken: TEST_TOKEN,
    },
  );
  const url = `http://127.0.0.1:${svc.port}`;
  const latest = (name: string) => statuses.findLast((s) => s.name === name);
  return {
    svc,
    tracker: tracker as RunningTracker,
    nc,
    statuses,
    logs,
    url,
    token: TEST_TOKEN,
    pingUrl: (name) => `${url}/ping/${tracker?.pingKeys.keyOf(name) ?? `no-key-for-${name}`}`,
    latest,
    waitState: (name, state, timeout = 10_000) =>
      waitFor(`${name} ${state}`, () => (latest(name)?.state === state ? latest(name) : undefined), { timeout }),
    stop: async () => {
      await svc.stop();
      await nc.close();
    },
  };
}
