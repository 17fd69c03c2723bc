import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { tempDir } from "./git.js";
import { collectLines } from "./lines.js";
import { waitFor } from "./wait.js";

export const REPO_ROOT = fileURLToPath(new URL("../../..", import.meta.url));

export interface Mesh {
  readonly child: ChildProcess;
  readonly output: string[];
  readonly configFile: string;
  /** The mesh's MIRROR_DATA_DIR (a fresh folder per mesh unless the test sets it). */
  readonly dataDir: string;
  /** The HTTP token `pnpm start` made in the data folder: state changes carry `Authorization: Bearer <it>`. */
  httpToken(): string;
  /** Waits for an output line matching `pattern`. */
  waitForLine(pattern: RegExp, timeout?: number): Promise<string>;
  /** Ctrl-C (SIGINT to the process group, as a terminal does); resolves with the exit code, -9 if it had to be killed. */
  stop(timeout?: number): Promise<number | null>;
  /** kill -9 of one service process found by its script path; the supervisor restarts it. */
  exited: Promise<number | null>;
}

/**
 * Runs the real `pnpm start [names]` supervisor with a mirror.yaml written from `yaml`,
 * in its own process group so the test can Ctrl-C it like a terminal.
 */
export function startMesh(
  yaml: string,
  opts: { env?: NodeJS.ProcessEnv; names?: string[]; command?: string[] } = {},
): Mesh {
  const dir = tempDir("mirror-mesh-");
  const configFile = join(dir, "mirror.yaml");
  // The console and the history take a free port unless the test names one: two meshes never fight over 9100 or 9108.
  const withConsole = /^console:/m.test(yaml) ? yaml : `${yaml}\nconsole: { port: 0 }\n`;
  writeFileSync(configFile, /^history:/m.test(withConsole) ? withConsole : `${withConsole}\nhistory: { port: 0 }\n`);
  const output: string[] = [];
  const command = opts.command ?? ["pnpm", "start", ...(opts.names ?? [])];
  const dataDir = opts.env?.MIRROR_DATA_DIR ?? join(dir, ".mirror");
  const child = spawn(command[0] as string, command.slice(1), {
    cwd: REPO_ROOT,
    env: { ...process.env, MIRROR_CONFIG: configFile, MIRROR_LOG_LEVEL: "info", MIRROR_DATA_DIR: dataDir, ...opts.env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  // Each stream has its own partial line: one shared between stdout and stderr glued a piece of
  // one to a line of the other when their chunks interleaved (a line waited for was never seen).
  const verbose = process.env.MIRROR_TEST_VERBOSE ? (l: string) => void process.stderr.write(`${l}\n`) : undefined;
  collectLines(child.stdout, output, verbose);
  collectLines(child.stderr, output, verbose);
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return {
    child,
    output,
    configFile,
    dataDir,
    httpToken: () => readFileSync(join(dataDir, "http-token"), "utf8").trim(),
    exited,
    // A line that never came says what came instead: the mesh's last lines join the error.
    waitForLine: (pattern, timeout = 20_000) =>
      waitFor(`output line ${pattern}`, () => output.find((l) => pattern.test(l)), { timeout }).catch((err: Error) => {
        err.message += `\nthe mesh's last ${Math.min(30, output.length)} lines:\n${output.slice(-30).join("\n")}`;
        throw err;
      }),
    stop: async (timeout = 15_000) => {
      if (child.exitCode === null && child.pid) {
        try {
          process.kill(-child.pid, "SIGINT");
        } catch {
          // already gone
        }
      }
      let killed = false;
      const timer = setTimeout(() => {
        killed = true;
        try {
          if (child.pid) process.kill(-child.pid, "SIGKILL");
        } catch {
          // already gone
        }
      }, timeout);
      const code = await exited;
      clearTimeout(timer);
      // -9: it did not stop by itself on Ctrl-C and had to be killed.
      return killed ? -9 : code;
    },
  };
}
