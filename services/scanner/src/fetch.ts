import type { Logger } from "pino";
import type { FoundRepo } from "./discover.js";
import { runGit } from "./git.js";
import type { ScannerMetrics } from "./metrics.js";
import { trustOf } from "./ownership.js";
import { mapPool } from "./pool.js";
import { type RepoConfig, type RepoConfigCache, sharedConfigCache } from "./repo-config.js";

/**
 * `git fetch` for repos under roots with `fetch: true` (opt-in: it talks to the network and
 * updates remote-tracking refs, which is what makes `behind` current). As for every scan, git
 * resolves the repo's config and every program it names is inert (hooks, filters, upload-pack,
 * ssh command, proxy, credential helpers, askpass); ssh runs in batch mode (a passphrase prompt
 * would hang the scanner), or as the owner's own `core.sshCommand` from their global config,
 * whose credential helpers are kept too. Another user's repo is not fetched (unless trusted),
 * nor one whose config names a remote helper program (`remote.<name>.vcs`).
 */
export interface FetchDeps {
  log: Logger;
  metrics: ScannerMetrics;
  timeoutMs: number;
  concurrency: number;
  trustedOwners?: readonly string[];
  configCache?: RepoConfigCache;
}

// git keeps the first `remote.<name>.uploadpack` it reads (the repo's), so a config override
// cannot replace it; the command-line option does.
const FETCH_ARGS = ["fetch", "--upload-pack=git-upload-pack", "--all", "--prune", "--quiet", "--no-write-fetch-head", "--no-recurse-submodules"];

/** Fetches one repo; false when it was not fetched (no remote, not trusted, refused, failed). */
async function fetchOne(repo: FoundRepo, deps: FetchDeps): Promise<boolean> {
  if (repo.kind === "submodule") return false;
  const trust = trustOf(repo, deps.trustedOwners ?? []);
  if (!trust.trusted) return false;
  let config: RepoConfig;
  try {
    config = await (deps.configCache ?? sharedConfigCache).read(repo, trust.safeDirectory, deps.timeoutMs);
  } catch (err) {
    deps.metrics.errors.inc({ reason: "fetch" });
    deps.log.warn({ path: repo.path, err: (err as Error).message }, "not fetching: its config could not be read");
    return false;
  }
  if (!config.hasRemote) return false;
  if (config.fetchRefused.length) {
    deps.metrics.errors.inc({ reason: "fetch_refused" });
    deps.log.warn({ path: repo.path, keys: config.fetchRefused }, "not fetching: the repo's config names a remote helper program");
    return false;
  }
  const env = config.sshCommand ? { GIT_SSH_COMMAND: config.sshCommand } : {};
  try {
    await runGit(repo.path, FETCH_ARGS, { timeoutMs: deps.timeoutMs, env, repoConfig: [...config.args, ...config.fetchArgs] });
    return true;
  } catch (err) {
    deps.metrics.errors.inc({ reason: "fetch" });
    deps.log.warn({ path: repo.path, err: (err as Error).message }, "fetch failed");
    return false;
  }
}

/** Fetches each repo that has a remote; returns how many were fetched. Never throws. */
export async function fetchRepos(repos: readonly FoundRepo[], deps: FetchDeps): Promise<number> {
  const done = await mapPool(repos, deps.concurrency, (repo) => fetchOne(repo, deps));
  return done.filter(Boolean).length;
}
