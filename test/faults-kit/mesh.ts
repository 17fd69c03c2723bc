// The mesh as the fault tests run it: the real `pnpm start`, each service on its own free port
// (tests run in parallel with others on this machine), and its health read over HTTP.
import { createServer } from "node:net";
import { linesOf, type Mesh, type ServerHandle, startMesh, waitFor } from "@mirror/testkit";

export const SERVICES = ["scanner", "service-tracker", "loop-detector", "notifier", "model-rules"] as const;
export type ServiceName = (typeof SERVICES)[number];
export type Ports = Record<ServiceName, number>;

/**
 * Free ports below the kernel's ephemeral range (32768+): a port from freePort() can be taken by
 * the local end of any outgoing connection on this busy machine before the service listens on it.
 */
export async function listenablePort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    const ok = await new Promise<boolean>((resolve) => {
      const srv = createServer();
      srv.once("error", () => resolve(false));
      srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(true)));
    });
    if (ok) return port;
  }
}

export async function meshPorts(): Promise<Ports> {
  const ports = {} as Ports;
  for (const name of SERVICES) ports[name] = await listenablePort();
  return ports;
}

/** The `port:` line of each section, to splice into a test's mirror.yaml. */
export function portSections(p: Ports): Record<"scanner" | "tracker" | "loops" | "notifier" | "model", string> {
  return {
    scanner: `port: ${p.scanner}`,
    tracker: `port: ${p["service-tracker"]}`,
    loops: `port: ${p["loop-detector"]}`,
    notifier: `port: ${p.notifier}`,
    model: `port: ${p["model-rules"]}`,
  };
}

export function runMesh(
  yaml: string,
  nats: ServerHandle,
  redis: ServerHandle,
  names: readonly ServiceName[] = SERVICES,
): Mesh {
  // One process per service (as compose runs them): each kill -9 ends exactly the service it names.
  return startMesh(yaml, {
    command: ["pnpm", "start", "--isolated", ...names],
    env: { MIRROR_NATS_URL: nats.url, MIRROR_REDIS_URL: redis.url, MIRROR_HTTP_HOST: "127.0.0.1" },
  });
}

const escapeRe = (s: string) => s.replace(/[-]/g, "\\-");

/** Waits for "service started" from each named service (slow under load: compiling TypeScript). */
export async function waitStarted(
  mesh: Mesh,
  names: readonly ServiceName[] = SERVICES,
  timeout = 180_000,
): Promise<void> {
  for (const name of names)
    await mesh.waitForLine(new RegExp(`^${escapeRe(name)}\\s*\\| .*"msg":"service started"`), timeout);
}

async function get(port: number, path: string, timeoutMs = 5_000): Promise<{ status: number; text: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(timeoutMs) });
  return { status: res.status, text: await res.text() };
}

/** /readyz of every service: name -> HTTP status (0 when it does not answer). */
export async function readiness(
  ports: Ports,
  names: readonly ServiceName[] = SERVICES,
): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  await Promise.all(
    names.map(
      async (n) =>
        (out[n] = await get(ports[n], "/readyz").then(
          (r) => r.status,
          () => 0,
        )),
    ),
  );
  return out;
}

export async function waitAllReady(
  ports: Ports,
  names: readonly ServiceName[] = SERVICES,
  timeout = 90_000,
): Promise<void> {
  let last: Record<string, number> = {};
  await waitFor(
    "every service ready",
    async () => {
      last = await readiness(ports, names);
      return Object.values(last).every((s) => s === 200);
    },
    { timeout, interval: 250 },
  ).catch((err: Error) => {
    throw new Error(`${err.message}; /readyz: ${JSON.stringify(last)}`);
  });
}

/** Sum of the samples of a Prometheus metric whose labels include `labels`. */
export async function metric(port: number, name: string, labels: Record<string, string> = {}): Promise<number> {
  const { text } = await get(port, "/metrics");
  let sum = 0;
  for (const line of text.split("\n")) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = m[2] ?? "";
    if (Object.entries(labels).every(([k, v]) => have.includes(`${k}="${v}"`))) sum += Number(m[3]);
  }
  return sum;
}

/** Supervisor lines saying a service died (after a kill we expect exactly the ones we caused). */
export function deaths(mesh: Mesh): string[] {
  return mesh.output.filter((l) => / \| exited \(/.test(l));
}

/** Ctrl-C must stop everything cleanly: "mirror: stopped", each service drained and said so, nothing killed for being late. */
export function assertCleanStop(mesh: Mesh, code: number | null, names: readonly ServiceName[] = SERVICES): void {
  // pnpm itself reports the SIGINT it got as a null exit code; -9 would mean it had to be killed.
  const unstopped = names.filter((n) => linesOf(mesh, n, /"msg":"service stopped"/).length === 0);
  if (!(code === 0 || code === null) || !mesh.output.includes("mirror: stopped") || unstopped.length) {
    throw new Error(
      `pnpm start did not stop cleanly (exit ${code}; not stopped: ${unstopped.join(", ") || "none"})\n${mesh.output.slice(-20).join("\n")}`,
    );
  }
}
