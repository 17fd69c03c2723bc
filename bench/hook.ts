/**
 * The local webhook receiver at the end of the pipeline: notes when each repo's firing alert
 * first arrives (performance.now() of this process, the same clock the publisher uses).
 */
import { createServer, type Server } from "node:http";

interface Waiter {
  left: Set<string>;
  resolve: () => void;
}

export interface Hook {
  url: string;
  /** Repo path -> arrival time (ms, performance.now()). */
  arrivals: Map<string, number>;
  requests: number;
  /** Resolves once every path has arrived, or after `timeoutMs` (then some are missing). */
  waitAll(paths: string[], timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

type AlertBody = { alerts?: { status?: string; labels?: { repo?: string } }[] };

export async function startHook(): Promise<Hook> {
  const arrivals = new Map<string, number>();
  const waiters = new Set<Waiter>();
  let requests = 0;
  const arrived = (repo: string, at: number) => {
    if (arrivals.has(repo)) return;
    arrivals.set(repo, at);
    for (const w of waiters) {
      if (w.left.delete(repo) && w.left.size === 0) {
        waiters.delete(w);
        w.resolve();
      }
    }
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const at = performance.now();
      requests++;
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as AlertBody;
        for (const a of body.alerts ?? []) if (a.status === "firing" && a.labels?.repo) arrived(a.labels.repo, at);
      } catch {
        // not an alert body; counted as a request only
      }
      res.writeHead(200, { "content-type": "application/json" });
      res.end('{"ok":true}');
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : 0;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    arrivals,
    get requests() {
      return requests;
    },
    waitAll: (paths, timeoutMs) => {
      const left = new Set(paths.filter((p) => !arrivals.has(p)));
      if (left.size === 0) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const w: Waiter = { left, resolve: () => resolve() };
        waiters.add(w);
        setTimeout(() => {
          waiters.delete(w);
          resolve();
        }, timeoutMs).unref();
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
