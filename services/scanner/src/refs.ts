import type { RepoBranch } from "@mirror/contracts";
import { reachableFrom } from "./ancestry.js";

type Branch = RepoBranch;

/** Runs git in the repo being read, with that repo's safety settings. */
export type Git = (args: readonly string[]) => Promise<Buffer>;

const FORMAT = [
  "%(refname)",
  "%(objectname)",
  "%(committerdate:iso-strict)",
  "%(upstream:short)",
  "%(upstream:track,nobracket)",
  "%(symref)",
].join("%00");

export interface RefsReport {
  branches: Branch[];
  /** Short name of the remote default (origin/HEAD's target without the remote), if any. */
  remoteDefault: string | null;
  /** Commit time of each local branch's tip, by name. */
  tips: Map<string, { sha: string; committedAt: string | null }>;
}

/** "ahead 2, behind 1" | "ahead 2" | "behind 1" | "gone" | "" -> counts. */
export function parseTrack(track: string, hasUpstream: boolean): Pick<Branch, "ahead" | "behind" | "upstreamGone"> {
  if (!hasUpstream) return { ahead: null, behind: null, upstreamGone: false };
  if (track === "gone") return { ahead: null, behind: null, upstreamGone: true };
  const ahead = /ahead (\d+)/.exec(track);
  const behind = /behind (\d+)/.exec(track);
  return { ahead: ahead ? Number(ahead[1]) : 0, behind: behind ? Number(behind[1]) : 0, upstreamGone: false };
}

function isoOrNull(text: string | undefined): string | null {
  if (!text) return null;
  const t = Date.parse(text);
  return Number.isNaN(t) ? null : new Date(t).toISOString();
}

/** Parses for-each-ref output of FORMAT (one ref per line; ref names cannot hold newlines or NUL). */
export function parseRefs(output: string): RefsReport {
  const report: RefsReport = { branches: [], remoteDefault: null, tips: new Map() };
  for (const line of output.split("\n")) {
    if (!line) continue;
    const [ref = "", sha = "", date, upstream = "", track = "", symref = ""] = line.split("\0");
    if (ref.startsWith("refs/heads/")) {
      const name = ref.slice("refs/heads/".length);
      const committedAt = isoOrNull(date);
      report.tips.set(name, { sha, committedAt });
      report.branches.push({
        name,
        lastCommitAt: committedAt,
        upstream: upstream || null,
        ...parseTrack(track, upstream !== ""),
        mergedIntoDefault: null,
      });
    } else if (ref.endsWith("/HEAD") && symref.startsWith("refs/remotes/")) {
      const target = symref.slice("refs/remotes/".length);
      const slash = target.indexOf("/");
      if (ref === "refs/remotes/origin/HEAD" || report.remoteDefault === null)
        report.remoteDefault = slash > 0 ? target.slice(slash + 1) : null;
    }
  }
  return report;
}

/** Every local branch with its tip time, upstream and ahead/behind, plus the remote's default branch. */
export async function readRefs(git: Git): Promise<RefsReport> {
  const out = await git(["for-each-ref", `--format=${FORMAT}`, "refs/heads", "refs/remotes/*/HEAD"]);
  return parseRefs(out.toString("utf8"));
}

/** The branch others are merged into: the remote's default, else main, else master, else none. */
export function pickDefault(refs: RefsReport): string | null {
  for (const name of [refs.remoteDefault, "main", "master"]) {
    if (name && refs.tips.has(name)) return name;
  }
  return null;
}

/**
 * Sets mergedIntoDefault on every branch: from the object store when `commonDir` is given and
 * the walk can answer, else with one git call (only when there is something to decide).
 */
export async function markMerged(
  git: Git,
  refs: RefsReport,
  defaultBranch: string | null,
  commonDir?: string,
): Promise<void> {
  if (!defaultBranch) return;
  const others = refs.branches.filter((b) => b.name !== defaultBranch);
  for (const b of refs.branches) if (b.name === defaultBranch) b.mergedIntoDefault = true;
  if (others.length === 0) return;
  const merged =
    (commonDir && mergedFromObjects(commonDir, refs, defaultBranch, others)) ||
    (await mergedFromGit(git, defaultBranch));
  for (const b of others) b.mergedIntoDefault = merged.has(b.name);
}

/** Names of the branches merged into the default, read from the object store; undefined if it cannot tell. */
function mergedFromObjects(
  commonDir: string,
  refs: RefsReport,
  defaultBranch: string,
  others: Branch[],
): Set<string> | undefined {
  const from = refs.tips.get(defaultBranch)?.sha;
  const tips = others.map((b) => refs.tips.get(b.name)?.sha);
  if (!from || tips.some((t) => !t)) return undefined;
  const reached = reachableFrom(commonDir, from, new Set(tips as string[]));
  return reached && new Set(others.filter((_, i) => reached.has(tips[i] as string)).map((b) => b.name));
}

async function mergedFromGit(git: Git, defaultBranch: string): Promise<Set<string>> {
  const out = await git(["for-each-ref", `--merged=refs/heads/${defaultBranch}`, "--format=%(refname)", "refs/heads"]);
  return new Set(
    out
      .toString("utf8")
      .split("\n")
      .filter(Boolean)
      .map((r) => r.slice("refs/heads/".length)),
  );
}
