import type { MirrorConfig } from "@mirror/contracts";
import { isMainThread, parentPort } from "node:worker_threads";
import { type DestinationStream, pino } from "pino";
import { ConfigError, configSecrets, loadConfig } from "./config.js";
import { createLogger } from "./logger.js";
import { isConfigFailure, type RunningService, runService, type ServiceSpec } from "./service.js";

/** A member's state as every member's /readyz shows it under `members`. */
export interface MemberState {
  state: "starting" | "started" | "retrying" | "failed" | "stopping";
  /** Why the last start failed. */
  error?: string;
  /** Starts tried so far. */
  attempts: number;
}

export interface TogetherOptions {
  env?: NodeJS.ProcessEnv;
  /** Where every member logs (one writer, so lines never interleave); stdout by default. */
  logDest?: DestinationStream;
  /** Members whose module failed to load: shown failed, the others run. */
  unloaded?: Array<{ name: string; error: Error }>;
  /** Called instead of process.exit (tests). */
  exit?: (code: number) => void;
}

const HARD_EXIT_MS = 4_800;
const MAX_BACKOFF_MS = 30_000;

/**
 * Runs several services in this process (`pnpm start --single`, Loki's monolithic target): each
 * through runService() as in a process of its own (its bus connection and identity, config
 * section, logger, registry and port, Redis prefix and login), so nothing between them bypasses
 * the bus. A member that fails to start leaves the others running: the failure is logged, shown
 * under `members` on every member's /readyz, and retried with backoff unless a restart cannot fix
 * it (config, identity, token). One handler for SIGTERM/SIGINT (in a worker thread: a stop
 * message) stops them all. An uncaught error is not caught here: it ends the process (or the
 * worker), and the supervisor restarts it.
 */
export async function runTogether(specs: ServiceSpec[], opts: TogetherOptions = {}): Promise<void> {
  const env = opts.env ?? process.env;
  const exit = opts.exit ?? ((code: number) => process.exit(code));
  // In a worker thread (the supervisor's --single), lines go through its stdout to the supervisor.
  const dest = opts.logDest ?? (isMainThread ? pino.destination({ dest: 1, sync: true }) : process.stdout);
  let config: MirrorConfig;
  try {
    config = loadConfig(env).config;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`mirror: ${err.message}\n`);
    return exit(2);
  }
  const secrets = configSecrets(config);
  const states = new Map<string, MemberState>(specs.map((s) => [s.name, { state: "starting", attempts: 0 }]));
  for (const { name, error } of opts.unloaded ?? []) {
    states.set(name, { state: "failed", error: error.message, attempts: 1 });
    createLogger(name, dest, undefined, { secrets }).error({ err: error }, "failed to load; not retrying");
  }
  if (specs.length === 0) return exit(2);
  const running = new Map<string, RunningService>();
  const retries = new Set<NodeJS.Timeout>();
  const members = () => ({ members: Object.fromEntries(states) });
  let stopping = false;

  const start = async (spec: ServiceSpec, attempt: number): Promise<void> => {
    const state = states.get(spec.name) as MemberState;
    state.attempts = attempt + 1;
    try {
      const r = await runService(spec, { env, config, logDest: dest, readyInfo: members });
      if (stopping) return void (await r.stop());
      running.set(spec.name, r);
      states.set(spec.name, { state: "started", attempts: state.attempts });
    } catch (err) {
      if (stopping) return;
      const log = createLogger(spec.name, dest, undefined, { secrets });
      const fatal = isConfigFailure(err);
      const delay = Math.min(MAX_BACKOFF_MS, 500 * 2 ** Math.min(attempt + 1, 6));
      states.set(spec.name, {
        state: fatal ? "failed" : "retrying",
        error: (err as Error).message,
        attempts: state.attempts,
      });
      log.error(
        { err, attempt: attempt + 1, ...(fatal ? {} : { retryInMs: delay }) },
        fatal ? "failed to start; not retrying (fix the config and restart)" : "failed to start; retrying",
      );
      if ([...states.values()].every((s) => s.state === "failed")) return exit(2);
      if (fatal) return;
      const timer = setTimeout(() => {
        retries.delete(timer);
        states.set(spec.name, { state: "starting", attempts: state.attempts });
        void start(spec, attempt + 1);
      }, delay);
      retries.add(timer);
    }
  };

  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    for (const t of retries) clearTimeout(t);
    setTimeout(() => {
      const stuck = [...running].filter(([, r]) => r.step !== "stopped").map(([n, r]) => `${n} (${r.step})`);
      process.stderr.write(`mirror: not stopped after ${HARD_EXIT_MS} ms: ${stuck.join(", ")}; exiting\n`);
      exit(0);
    }, HARD_EXIT_MS).unref();
    for (const [name, r] of running) {
      states.set(name, { ...(states.get(name) as MemberState), state: "stopping" });
      r.ctx.log.info({ signal }, "shutting down");
    }
    void Promise.allSettled([...running.values()].map((r) => r.stop())).then(() => exit(0));
  };
  // A worker thread gets no signals: the supervisor posts { t: "stop" } instead.
  if (isMainThread) {
    process.on("SIGTERM", () => shutdown("SIGTERM"));
    process.on("SIGINT", () => shutdown("SIGINT"));
  } else {
    parentPort?.on("message", (m: { t?: string; signal?: string }) => {
      if (m?.t === "stop") shutdown("SIGTERM");
      // Another signal the supervisor got (SIGHUP: reload mirror.yaml), for the members' own handlers.
      else if (m?.t === "signal" && m.signal === "SIGHUP") process.emit("SIGHUP", "SIGHUP");
    });
  }
  await Promise.all(specs.map((s) => start(s, 0)));
}
