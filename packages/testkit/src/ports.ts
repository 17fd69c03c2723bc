import { readFileSync } from "node:fs";
import { createServer } from "node:net";

/**
 * Ports are picked below the kernel's ephemeral range. Port 0 would hand out a port from that
 * range, the one outgoing connections draw their local ports from: a client socket of a test running
 * in parallel could take it between the pick and the service's bind (EADDRINUSE, seen in CI).
 */
const LOWEST = 20_000;

function ephemeralLow(): number {
  try {
    const [low] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/);
    const n = Number(low);
    return Number.isInteger(n) && n > LOWEST + 1000 ? n : 32_768;
  } catch {
    return 32_768; // Linux's default; macOS starts at 49152, so this range is below it too
  }
}

const HIGHEST = ephemeralLow() - 1;
const handedOut = new Set<number>();

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.unref();
    srv.once("error", () => resolve(false));
    srv.listen({ port, host: "127.0.0.1", exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/** A TCP port that was free a moment ago on 127.0.0.1, outside the ephemeral range, never the same twice in a process. */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = LOWEST + Math.floor(Math.random() * (HIGHEST - LOWEST + 1));
    if (handedOut.has(port)) continue;
    handedOut.add(port); // before the await, so a concurrent call cannot pick it too
    if (await bindable(port)) return port;
    handedOut.delete(port);
  }
  throw new Error(`freePort: no free port between ${LOWEST} and ${HIGHEST} on 127.0.0.1 after 200 tries`);
}
