// The scanner's scan and fetch, run as its own process so that the environment it starts with
// (HOME, PATH, hostile GIT_* variables) is the one under test. Given roots, the owners to trust
// and a folder where the corpus's programs leave marks, it discovers every repo, reads each,
// fetches each, reads each again, and prints what it saw as JSON on stdout.
import { readdirSync } from "node:fs";
import pino from "pino";
import { Registry } from "prom-client";
import { discover } from "../src/discover.js";
import { fetchEach } from "../src/fetch.js";
import { closeGitHelpers } from "../src/git.js";
import { ScannerMetrics } from "../src/metrics.js";
import { RepoConfigCache } from "../src/repo-config.js";
import { type SnapshotBody, readRepo } from "../src/snapshot.js";

/** What the parent asks for (argv[2], JSON). */
export interface ProbeRequest {
  roots: string[];
  trustedOwners: string[];
  marks: string;
}

/** One repo as the probe saw it. */
export interface ProbeRepo {
  path: string;
  scanned: SnapshotBody;
  fetched: boolean;
  rescanned: SnapshotBody;
}

export interface ProbeReport {
  repos: ProbeRepo[];
  /** Marks present after the scan, after the fetch, after the rescan. */
  marks: { scan: string[]; fetch: string[]; rescan: string[] };
  /** `git config` processes run by the rescan (0: every config came from the cache). */
  rescanResolved: number;
}

const request = JSON.parse(process.argv[2] as string) as ProbeRequest;
const marks = () => readdirSync(request.marks).sort();
const found = await discover(request.roots, { maxDepth: 4, exclude: [] });
const cache = new RepoConfigCache();
const opts = { maxUntracked: 10_000, timeoutMs: 20_000, trustedOwners: request.trustedOwners, configCache: cache };
const scanned = await Promise.all(found.repos.map((r) => readRepo(r, opts)));
const afterScan = marks();
const metrics = new ScannerMetrics(new Registry());
const deps = {
  log: pino({ level: "silent" }),
  metrics,
  timeoutMs: 20_000,
  concurrency: 4,
  trustedOwners: request.trustedOwners,
  configCache: cache,
};
const fetched = await fetchEach(found.repos, deps);
const afterFetch = marks();
const before = cache.resolved;
const rescanned = await Promise.all(found.repos.map((r) => readRepo(r, opts)));
const report: ProbeReport = {
  repos: found.repos.map((r, i) => ({
    path: r.path,
    scanned: scanned[i]?.body as SnapshotBody,
    fetched: fetched[i] === true,
    rescanned: rescanned[i]?.body as SnapshotBody,
  })),
  marks: { scan: afterScan, fetch: afterFetch, rescan: marks() },
  rescanResolved: cache.resolved - before,
};
closeGitHelpers();
process.stdout.write(JSON.stringify(report));
