import { type ChildProcess, spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { collectLines } from "./lines.js";
import { REPO_ROOT } from "./mesh.js";

export { collectLines };

/** One service run as its own process from source. */
export interface ServiceProcess {
  label: string;
  child: ChildProcess;
  /** Its stdout and stderr, as whole lines. */
  output: string[];
}

/**
 * Runs `services/<service>/src/main.ts` as its own process (kill -9 is a real crash: no leaving,
 * no cleanup), with `yaml` written to `<dir>/<label>.yaml` as its config, its data under
 * `<dir>/data-<label>`, identity off and info logs. `env` adds to (or overrides) that.
 */
export function spawnService(opts: {
  dir: string;
  service: string;
  label: string;
  yaml: string;
  env?: Record<string, string>;
}): ServiceProcess {
  const file = join(opts.dir, `${opts.label}.yaml`);
  writeFileSync(file, opts.yaml);
  const output: string[] = [];
  const child = spawn(
    process.execPath,
    ["--import", "tsx", join(REPO_ROOT, "services", opts.service, "src", "main.ts")],
    {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        MIRROR_CONFIG: file,
        MIRROR_IDENTITY: "off",
        MIRROR_DATA_DIR: join(opts.dir, `data-${opts.label}`),
        MIRROR_LOG_LEVEL: "info",
        ...opts.env,
      },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  collectLines(child.stdout, output);
  collectLines(child.stderr, output);
  return { label: opts.label, child, output };
}
