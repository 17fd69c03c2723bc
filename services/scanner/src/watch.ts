import { type FSWatcher, watch } from "node:fs";
import { join } from "node:path";
import type { Logger } from "pino";
import type { FoundRepo } from "./discover.js";
import type { ScannerMetrics } from "./metrics.js";

/**
 * Watch mode (`scanner.watch: true`): file-system events on each repo's git dir, its refs and
 * its worktree's top folder trigger a scan of that repo within a second, besides the interval.
 * A commit, checkout, stage, stash, fetch or new top-level file is seen at once; an edit deep
 * in the worktree waits for the interval (watching whole worktrees would cost an inotify watch
 * per folder). The scan itself writes nothing into `.git`, so it never triggers itself.
 */
export interface WatchDeps {
  log: Logger;
  metrics: ScannerMetrics;
  /** Called (debounced) with a repo that changed. */
  onChange: (repo: FoundRepo) => void;
  debounceMs?: number;
}

interface Watched {
  repo: FoundRepo;
  watchers: FSWatcher[];
  timer?: NodeJS.Timeout;
}

export class RepoWatcher {
  private readonly watched = new Map<string, Watched>();
  private warned = false;

  constructor(private readonly deps: WatchDeps) {}

  /** Watches exactly these repos: new ones are added, vanished ones closed. */
  sync(repos: readonly FoundRepo[]): void {
    const wanted = new Map(repos.map((r) => [r.path, r]));
    for (const [path, w] of this.watched) if (!wanted.has(path)) this.unwatch(path, w);
    for (const repo of repos) if (!this.watched.has(repo.path)) this.add(repo);
  }

  private add(repo: FoundRepo): void {
    const entry: Watched = { repo, watchers: [] };
    const fire = () => {
      clearTimeout(entry.timer);
      entry.timer = setTimeout(() => this.deps.onChange(repo), this.deps.debounceMs ?? 150);
      entry.timer.unref();
    };
    const targets: Array<[string, boolean]> = [
      [repo.gitDir, false],
      [join(repo.commonDir, "refs"), true],
      [repo.path, false],
    ];
    if (repo.commonDir !== repo.gitDir) targets.push([repo.commonDir, false]);
    for (const [path, recursive] of targets) {
      try {
        const w = watch(path, { recursive, persistent: false }, fire);
        w.on("error", () => undefined);
        entry.watchers.push(w);
      } catch (err) {
        this.deps.metrics.errors.inc({ reason: "watch" });
        if (!this.warned)
          this.deps.log.warn(
            { path, err: (err as Error).message },
            "cannot watch (the interval still scans it); raise fs.inotify.max_user_watches?",
          );
        this.warned = true;
      }
    }
    this.watched.set(repo.path, entry);
  }

  private unwatch(path: string, w: Watched): void {
    clearTimeout(w.timer);
    for (const x of w.watchers) x.close();
    this.watched.delete(path);
  }

  get size(): number {
    return this.watched.size;
  }

  close(): void {
    for (const [path, w] of this.watched) this.unwatch(path, w);
  }
}
