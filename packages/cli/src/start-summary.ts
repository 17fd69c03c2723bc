// The one summary `pnpm start` prints once every service is ready: where the console is, how many
// services are up, what the scanner found (asked over the bus by `mirror status` as the operator, in
// a short-lived process, so the supervisor itself never holds the NATS client), what is configured,
// and the first admin's setup link. Only node built-ins here (see start-lean.ts).
import { spawn } from "node:child_process";
import type { MeshStatus } from "./commands/status.js";

/** The summary's fields; in JSON output, one log record with exactly these beside level, time, service, msg. */
export interface MeshSummary {
  /** console.publicUrl; null when the console is not one of the services started. */
  consoleUrl: string | null;
  servicesReady: number;
  servicesTotal: number;
  notReady: string[];
  repositories: number | null;
  repositoriesProblem?: string;
  checks: number | null;
  channels: number | null;
  setupUrl?: string;
  warning?: string;
}

export const NO_CHANNEL_WARNING =
  "no notification channel is configured: nothing will reach you (add one under notifier.channels in mirror.yaml)";

/** Watches the services' lines for "service started" and the console's setup link. */
export class Readiness {
  readonly started = new Set<string>();
  setupUrl: string | undefined;

  constructor(readonly names: readonly string[]) {}

  /** Reads one line; true when it was the line that made every service ready. */
  see(line: string): boolean {
    if (!line.startsWith("{")) return false;
    const started = line.includes('"msg":"service started"');
    if (!started && !line.includes('"setupUrl"')) return false;
    let record: { service?: unknown; setupUrl?: unknown };
    try {
      record = JSON.parse(line);
    } catch {
      return false;
    }
    if (typeof record.setupUrl === "string") this.setupUrl = record.setupUrl;
    if (
      !started ||
      typeof record.service !== "string" ||
      !this.names.includes(record.service) ||
      this.started.has(record.service)
    )
      return false;
    this.started.add(record.service);
    return this.started.size === this.names.length;
  }

  get notReady(): string[] {
    return this.names.filter((n) => !this.started.has(n));
  }
}

/**
 * Runs `mirror status --json` (`cli`: the CLI bundle's main.mjs, or bin/mirror.mjs) as a short-lived
 * child process and reads its answer; undefined if it gave none. A process rather than a worker
 * thread: a thread's NATS client and bundle would stay in the supervisor's RSS (about 10 MB) after
 * it ended. `signal` ends it early (the mesh is stopping).
 */
export function askStatus(
  cli: string,
  env: NodeJS.ProcessEnv,
  signal: AbortSignal,
  timeoutMs = 45_000,
): Promise<MeshStatus | undefined> {
  return new Promise((resolve) => {
    const { MIRROR_START_PREPARE: _, ...rest } = env;
    const child = spawn(process.execPath, [cli, "status", "--json", "--wait", "30s"], {
      env: rest,
      stdio: ["ignore", "pipe", "ignore"],
      signal,
      timeout: timeoutMs,
      killSignal: "SIGKILL",
    });
    let out = "";
    child.stdout.on("data", (d: Buffer) => void (out += d.toString("utf8")));
    child.once("error", () => undefined);
    child.once("close", () => {
      try {
        resolve(JSON.parse(out.trim().split("\n").at(-1) ?? "") as MeshStatus);
      } catch {
        resolve(undefined);
      }
    });
  });
}

export function summarize(ready: Readiness, status: MeshStatus | undefined): MeshSummary {
  return {
    // Only where something serves it: `pnpm start scanner` runs no console.
    consoleUrl: ready.names.includes("console") ? (status?.consoleUrl ?? null) : null,
    servicesReady: ready.started.size,
    servicesTotal: ready.names.length,
    notReady: ready.notReady,
    repositories: status?.repositories ?? null,
    ...(status
      ? status.repositoriesProblem
        ? { repositoriesProblem: status.repositoriesProblem }
        : {}
      : { repositoriesProblem: "`mirror status` gave no answer" }),
    checks: status?.checks ?? null,
    channels: status?.channels ?? null,
    ...(ready.setupUrl ? { setupUrl: ready.setupUrl } : {}),
    ...(status?.channels === 0 ? { warning: NO_CHANNEL_WARNING } : {}),
  };
}

/** The summary as one pino-shaped JSON record (warn when something needs the owner). */
export function summaryRecord(s: MeshSummary, now = new Date()): string {
  const level = s.warning || s.notReady.length ? "warn" : "info";
  return JSON.stringify({ level, time: now.toISOString(), service: "mirror", ...s, msg: "mesh ready" });
}

/** The summary for a person at a terminal. */
export function summaryText(s: MeshSummary): string {
  const row = (k: string, v: string) => `  ${k.padEnd(13)} ${v}`;
  const count = (n: number | null, what: string) => (n === null ? "unknown" : `${n} ${what}`);
  const lines = [
    s.notReady.length ? `mirror: the mesh is up, but not every service is ready` : "mirror: the mesh is ready",
    row("console", s.consoleUrl ?? "not started (pnpm start runs it with every service)"),
    row(
      "services",
      `${s.servicesReady}/${s.servicesTotal} ready${s.notReady.length ? ` (not ready: ${s.notReady.join(", ")})` : ""}`,
    ),
    row(
      "repositories",
      s.repositories === null ? `unknown: ${s.repositoriesProblem ?? "no answer"}` : `${s.repositories} found`,
    ),
    row("checks", count(s.checks, "configured")),
    row("channels", s.channels === 0 ? "none configured" : count(s.channels, "configured")),
  ];
  if (s.setupUrl) lines.push(row("first admin", `open ${s.setupUrl} within an hour to create the first admin`));
  if (s.warning) lines.push(`mirror: WARNING: ${s.warning}`);
  return `${lines.join("\n")}\n`;
}

/**
 * Prints the summary once: when every service has said "service started", or after `deadlineMs`
 * with those that have not named. `stop()` cancels it (the mesh is stopping).
 */
export class StartSummary {
  private readonly ready: Readiness;
  private printed = false;
  private printing: Promise<void> | undefined;
  private stopped = false;
  private readonly timer: NodeJS.Timeout;
  private readonly abort = new AbortController();

  constructor(
    names: readonly string[],
    private readonly opts: {
      cli: string;
      env: NodeJS.ProcessEnv;
      pretty: boolean;
      write: (text: string) => void;
      deadlineMs?: number;
    },
  ) {
    this.ready = new Readiness(names);
    this.timer = setTimeout(() => void (this.printing ??= this.print()), opts.deadlineMs ?? 120_000);
    this.timer.unref();
  }

  see(line: string): void {
    if (!this.printed && this.ready.see(line)) this.printing ??= this.print();
  }

  /** Resolves once the summary is printed, or was given up because the mesh stopped. */
  settled(): Promise<void> {
    return this.printing ?? Promise.resolve();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.abort.abort();
  }

  private async print(): Promise<void> {
    if (this.printed || this.stopped) return;
    this.printed = true;
    clearTimeout(this.timer);
    const status = await askStatus(this.opts.cli, this.opts.env, this.abort.signal);
    if (this.stopped) return;
    const s = summarize(this.ready, status);
    this.opts.write(this.opts.pretty ? summaryText(s) : `${summaryRecord(s)}\n`);
  }
}
