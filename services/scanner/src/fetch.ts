import type { Logger } from "pino";
import type { FoundRepo } from "./discover.js";
import { runGit } from "./git.js";
import type { ScannerMetrics } from "./metrics.js";
import { mapPool } from "./pool.js";
import { readRepoConfig } from "./repo-config.js";

/**
 * `git fetch` for repos under roots with `fetch: true` (opt-in: it talks to the network and
 * updates remote-tracking refs, which is what makes `behind` current). Hooks, fsmonitor and
 * the repo's own filters stay off as for every scan; auto-gc is off; ssh never prompts; and a
 * repo whose own config names a program for the transport (sshCommand, uploadpack, a
 * credential helper...) is not fetched at all, as that program would run.
 */
export interface FetchDeps {
  log: Logger;
  metrics: ScannerMetrics;
  timeoutMs: number;
  concurrency: number;
}

const FETCH_ARGS = ["-c", "gc.auto=0", "-c", "maintenance.auto=false", "fetch", "--all", "--prune", "--quiet", "--no-write-fetch-head", "--no-recurse-submodules"];

/** Fetches each repo that has a remote; returns how many were fetched. Never throws. */
export async function fetchRepos(repos: readonly FoundRepo[], deps: FetchDeps): Promise<number> {
  const done = await mapPool(repos, deps.concurrency, async (repo) => {
    const config = await readRepoConfig(repo.gitDir, repo.commonDir);
    if (!config.hasRemote || repo.kind === "submodule") return false;
    if (config.fetchUnsafe.length) {
      deps.metrics.errors.inc({ reason: "fetch_refused" });
      deps.log.warn({ path: repo.path, keys: config.fetchUnsafe }, "not fetching: the repo's config sets a program for the transport");
      return false;
    }
    try {
      await runGit(repo.path, FETCH_ARGS, { timeoutMs: deps.timeoutMs, env: fetchEnv() });
      return true;
    } catch (err) {
      deps.metrics.errors.inc({ reason: "fetch" });
      deps.log.warn({ path: repo.path, err: (err as Error).message }, "fetch failed");
      return false;
    }
  });
  return done.filter(Boolean).length;
}

/** ssh in batch mode (a passphrase prompt would hang the scanner), unless the owner set their own command. */
function fetchEnv(): NodeJS.ProcessEnv {
  return process.env.GIT_SSH_COMMAND ? {} : { GIT_SSH_COMMAND: "ssh -o BatchMode=yes" };
}
