import type { Logger } from "pino";
import type { FoundRepo } from "./discover.js";
import { FETCH_TRANSPORTS, runGit } from "./git.js";
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
  trustedOwners?: ReadonlyArray<string | number>;
  configCache?: RepoConfigCache;
}

// git keeps the first `remote.<name>.uploadpack` it reads (the repo's), so a config override
// cannot replace it; the command-line option does.
const FETCH_ARGS = [
  "fetch",
  "--upload-pack=git-upload-pack",
  "--all",
  "--prune",
  "--quiet",
  "--no-write-fetch-head",
  "--no-recurse-submodules",
];

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
    deps.log.warn(
      { path: repo.path, keys: config.fetchRefused },
      "not fetching: the repo's config names a program the fetch would run",
    );
    return false;
  }
  const env = config.sshCommand ? { GIT_SSH_COMMAND: config.sshCommand } : {};
  try {
    await runGit(repo.path, FETCH_ARGS, {
      timeoutMs: deps.timeoutMs,
      env,
      repoConfig: [...config.args, ...FETCH_TRANSPORTS, ...config.fetchArgs],
    });
    return true;
  } catch (err) {
    deps.metrics.errors.inc({ reason: "fetch" });
    deps.log.warn({ path: repo.path, err: (err as Error).message }, "fetch failed");
    return false;
  }
}

/**
 * Fetches each repo that has a remote, once per git dir: linked worktrees share their main
 * repo's refs, and two fetches into them at once would fight over ref locks. Returns, for each
 * repo, whether it was fetched (false for a worktree whose git dir another entry fetched). Never throws.
 */
export async function fetchEach(repos: readonly FoundRepo[], deps: FetchDeps): Promise<boolean[]> {
  const first = new Map<string, number>();
  repos.forEach((r, i) => {
    if (!first.has(r.commonDir)) first.set(r.commonDir, i);
  });
  return mapPool(repos, deps.concurrency, (repo, i) =>
    first.get(repo.commonDir) === i ? fetchOne(repo, deps) : Promise.resolve(false),
  );
}

/** Fetches each repo (see fetchEach); returns how many were fetched. Never throws. */
export async function fetchRepos(repos: readonly FoundRepo[], deps: FetchDeps): Promise<number> {
  return (await fetchEach(repos, deps)).filter(Boolean).length;
}
