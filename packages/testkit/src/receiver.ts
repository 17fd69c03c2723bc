import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import { waitFor } from "./wait.js";

export interface ReceivedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
  json: unknown;
  at: number;
}

export interface Receiver {
  readonly url: string;
  readonly port: number;
  readonly requests: ReceivedRequest[];
  /** Every request, whatever it was answered (`requests` holds only the 2xx ones). */
  readonly attempts: ReceivedRequest[];
  /** Decide the status of the next requests (default 200). */
  respond(fn: (req: ReceivedRequest, index: number) => number): void;
  waitFor(what: string, pred: (r: ReceivedRequest) => boolean, timeout?: number): Promise<ReceivedRequest>;
  close(): Promise<void>;
}

/** A real HTTP receiver on 127.0.0.1 that records every request (webhooks, ntfy, model APIs). */
export async function startReceiver(port = 0): Promise<Receiver> {
  const requests: ReceivedRequest[] = [];
  const attempts: ReceivedRequest[] = [];
  let decide: (req: ReceivedRequest, index: number) => number = () => 200;
  let count = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      let json: unknown;
      try {
        json = body ? JSON.parse(body) : undefined;
      } catch {
        json = undefined;
      }
      const r: ReceivedRequest = {
        method: req.method ?? "",
        url: req.url ?? "",
        headers: req.headers,
        body,
        json,
        at: Date.now(),
      };
      const status = decide(r, count++);
      attempts.push(r);
      if (status < 300) requests.push(r);
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify({ ok: status < 300 }));
    });
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  const addr = server.address();
  const actual = typeof addr === "object" && addr ? addr.port : port;
  return {
    url: `http://127.0.0.1:${actual}/`,
    port: actual,
    requests,
    attempts,
    respond: (fn) => {
      decide = fn;
    },
    waitFor: (what, pred, timeout = 15_000) => waitFor(what, () => requests.find(pred), { timeout }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
