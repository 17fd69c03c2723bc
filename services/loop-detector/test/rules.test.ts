import assert from "node:assert/strict";
import { test } from "node:test";
import { LoopsConfig, RepoSnapshot, ServiceStatus } from "@mirror/contracts";
import { evaluate } from "../src/evaluate.js";
import { certRules } from "../src/rules/cert.js";
import { domainRules } from "../src/rules/domain.js";
import { heartbeatRules } from "../src/rules/heartbeat.js";
import { repoRules } from "../src/rules/repo.js";
import { RULE_DEFAULTS, resolveRules } from "../src/rules/rule.js";
import { serviceRules } from "../src/rules/service.js";

const NOW = Date.parse("2026-03-01T12:00:00Z");
const iso = (ms: number) => new Date(ms).toISOString();
const D = 86_400_000;
const rules = resolveRules(LoopsConfig.parse({}));

function snap(over: Record<string, unknown> = {}) {
  return RepoSnapshot.parse({
    repoKey: "k",
    path: "/r/x",
    observedAt: iso(NOW),
    seq: 1,
    branch: "main",
    detached: false,
    head: { sha: "a".repeat(40), committedAt: iso(NOW - D) },
    upstream: "origin/main",
    ahead: 0,
    behind: 0,
    staged: 0,
    unstaged: 0,
    untracked: 0,
    conflicted: 0,
    dirtySince: null,
    stashes: { count: 0, oldestAt: null },
    branches: [],
    defaultBranch: "main",
    operation: null,
    hasRemote: true,
    ...over,
  });
}
const status = (over: Record<string, unknown> = {}) =>
  ServiceStatus.parse({
    name: "web",
    kind: "http",
    state: "up",
    observedAt: iso(NOW),
    seq: 1,
    since: iso(NOW - 60_000),
    ...over,
  });
const kinds = (cs: { kind: string }[]) => cs.map((c) => c.kind).sort();

test("a clean, pushed repo with a remote has no conditions", () => {
  assert.deepEqual(repoRules(snap(), NOW, rules), []);
});

test("repo.dirty: any staged, unstaged or untracked path, since the oldest dirty mtime", () => {
  const [c] = repoRules(snap({ unstaged: 2, untracked: 1, dirtySince: iso(NOW - 3_600_000) }), NOW, rules);
  assert.equal(c?.kind, "repo.dirty");
  assert.equal(c?.since, NOW - 3_600_000);
  assert.equal(c?.after, 24 * 3_600_000);
  assert.equal(c?.evidence.files, 3);
  assert.equal(c?.evidence.path, "/r/x");
});

test("repo.unpushed: commits ahead on the current or another branch", () => {
  assert.deepEqual(kinds(repoRules(snap({ ahead: 2 }), NOW, rules)), ["repo.unpushed"]);
  const other = snap({
    branches: [{ name: "feat", lastCommitAt: iso(NOW), upstream: "origin/feat", ahead: 1, mergedIntoDefault: false }],
  });
  const [c] = repoRules(other, NOW, rules).filter((x) => x.kind === "repo.unpushed");
  assert.equal(c?.evidence.branch, "feat");
  assert.equal(c?.since, null, "the snapshot cannot say since when: the detector uses first seen");
});

test("repo.no-upstream: no remote at all, or a branch backed up nowhere", () => {
  const [none] = repoRules(snap({ hasRemote: false, upstream: null }), NOW, rules);
  assert.equal(none?.kind, "repo.no-upstream");
  assert.equal(none?.evidence.hasRemote, false);
  const b = (name: string, upstream: string | null, merged: boolean) => ({
    name,
    lastCommitAt: iso(NOW),
    upstream,
    mergedIntoDefault: merged,
  });
  const cs = repoRules(
    snap({ branches: [b("main", "origin/main", true), b("spike", null, false), b("done", null, true)] }),
    NOW,
    rules,
  );
  assert.deepEqual(
    cs.find((c) => c.kind === "repo.no-upstream")?.evidence.branches,
    ["spike"],
    "a merged branch is backed up by the default branch",
  );
  assert.deepEqual(
    repoRules(snap({ hasRemote: false, head: null, upstream: null }), NOW, rules),
    [],
    "an empty repo has nothing to back up",
  );
});

test("repo.stash: since the oldest stash", () => {
  const [c] = repoRules(snap({ stashes: { count: 2, oldestAt: iso(NOW - 8 * D) } }), NOW, rules);
  assert.equal(c?.kind, "repo.stash");
  assert.equal(c?.since, NOW - 8 * D);
  assert.equal(c?.after, 7 * D);
});

test("repo.stale-branch: unmerged branches with no commit for `after`, never the default branch", () => {
  const b = (name: string, age: number, merged: boolean) => ({
    name,
    lastCommitAt: iso(NOW - age),
    upstream: `origin/${name}`,
    mergedIntoDefault: merged,
  });
  const s = snap({
    branches: [b("main", 90 * D, false), b("old", 40 * D, false), b("newer", 2 * D, false), b("merged", 90 * D, true)],
  });
  const [c] = repoRules(s, NOW, rules);
  assert.equal(c?.kind, "repo.stale-branch");
  assert.equal(c?.since, NOW - 40 * D);
  assert.deepEqual(
    (c?.evidence.branches as { name: string }[] | undefined)?.map((x) => x.name),
    ["old"],
  );
  const young = repoRules(snap({ branches: [b("newer", 2 * D, false)] }), NOW, rules)[0];
  assert.equal(
    young && young.since !== null && young.since + young.after > NOW,
    true,
    "reported early so the tick opens it on time",
  );
});

test("repo.conflict: an operation in progress or conflicted paths", () => {
  const [c] = repoRules(snap({ operation: "rebase", operationSince: iso(NOW - 7_200_000) }), NOW, rules);
  assert.equal(c?.kind, "repo.conflict");
  assert.equal(c?.severity, "high");
  assert.match(c?.summary ?? "", /rebase/);
  assert.deepEqual(kinds(repoRules(snap({ conflicted: 1 }), NOW, rules)), ["repo.conflict"]);
});

test("repo.untrusted: another user's repo is named once, with no other repo condition", () => {
  const untrusted = snap({
    untrusted: { uid: 12345, user: null },
    head: null,
    branch: null,
    unstaged: 0,
    hasRemote: false,
    error: "owned by uid 12345",
  });
  const [c, ...rest] = repoRules(untrusted, NOW, rules);
  assert.equal(rest.length, 0);
  assert.equal(c?.kind, "repo.untrusted");
  assert.equal(c?.after, 0);
  assert.equal(c?.severity, "medium");
  assert.match(c?.summary ?? "", /owned by uid 12345, not in scanner\.trustedOwners/);
  assert.deepEqual(c?.evidence, { path: "/r/x", uid: 12345, user: null });
  // A snapshot with an error keeps loops as they are, except an untrusted one: its error is why.
  assert.equal(evaluate({ source: "repo", at: NOW, seq: 1, data: snap({ error: "git failed" }) }, NOW, rules), null);
  assert.deepEqual(kinds(evaluate({ source: "repo", at: NOW, seq: 1, data: untrusted }, NOW, rules) ?? []), [
    "repo.untrusted",
  ]);
  const named = repoRules(snap({ untrusted: { uid: 65534, user: "nobody" } }), NOW, rules);
  assert.match(named[0]?.summary ?? "", /uid 65534 \/ user nobody/);
});

test("repo.behind: upstream commits not pulled", () => {
  assert.deepEqual(kinds(repoRules(snap({ behind: 3 }), NOW, rules)), ["repo.behind"]);
});

test("config: after, severity and enabled override the defaults", () => {
  const custom = resolveRules(
    LoopsConfig.parse({
      rules: { "repo.dirty": { after: "0s", severity: "high" }, "repo.behind": { enabled: false } },
    }),
  );
  const cs = repoRules(snap({ staged: 1, behind: 1, dirtySince: iso(NOW) }), NOW, custom);
  assert.deepEqual(kinds(cs), ["repo.dirty"]);
  assert.equal(cs[0]?.after, 0);
  assert.equal(cs[0]?.severity, "high");
  assert.equal(custom["service.down"].after, RULE_DEFAULTS["service.down"].after);
});

test("config: an unknown rule name or a bad duration is an error naming the key", () => {
  const unknown = LoopsConfig.safeParse({ rules: { "repo.dirt": { after: "1h" } } });
  assert.equal(unknown.success, false);
  assert.deepEqual(unknown.error?.issues[0]?.path, ["rules", "repo.dirt"]);
  assert.match(unknown.error?.issues[0]?.message ?? "", /unknown rule "repo.dirt"/);
  const bad = LoopsConfig.safeParse({ rules: { "repo.dirty": { after: "soon" } } });
  assert.deepEqual(bad.error?.issues[0]?.path, ["rules", "repo.dirty", "after"]);
});

test("service.down and service.degraded since the state changed; unknown says nothing", () => {
  const [down] = serviceRules(status({ state: "down", reason: "connection refused" }), NOW, rules) ?? [];
  assert.equal(down?.kind, "service.down");
  assert.equal(down?.since, NOW - 60_000);
  assert.equal(down?.after, 120_000);
  assert.equal(down?.evidence.reason, "connection refused");
  const degraded = serviceRules(
    status({ state: "degraded", failedConditions: [{ condition: "status == 200", actual: "500" }] }),
    NOW,
    rules,
  );
  assert.deepEqual(kinds(degraded ?? []), ["service.degraded"]);
  assert.deepEqual(serviceRules(status(), NOW, rules), []);
  assert.equal(serviceRules(status({ state: "unknown" }), NOW, rules), null);
  assert.deepEqual(
    serviceRules(status({ kind: "heartbeat", state: "down" }), NOW, rules),
    [],
    "a late heartbeat is heartbeat.missed only",
  );
});

test("heartbeat.missed: a missed check-in or a reported failure", () => {
  const hb = (missed: boolean, failed = false) => ({
    lastPingAt: iso(NOW - 3 * 60_000),
    expectedBy: iso(NOW - 60_000),
    missed,
    failed,
  });
  const [c] = heartbeatRules(status({ kind: "heartbeat", state: "down", heartbeat: hb(true) }), NOW, rules);
  assert.equal(c?.kind, "heartbeat.missed");
  assert.equal(c?.since, NOW - 60_000);
  assert.match(
    heartbeatRules(status({ kind: "heartbeat", heartbeat: hb(false, true) }), NOW, rules)[0]?.summary ?? "",
    /failure/,
  );
  assert.deepEqual(heartbeatRules(status({ kind: "heartbeat", heartbeat: hb(false) }), NOW, rules), []);
});

test("cert.expiring: due `within` before expiry; an expired certificate is at least high", () => {
  const [soon] = certRules(status({ cert: { expiresAt: iso(NOW + 10 * D) } }), NOW, rules);
  assert.equal(soon?.since, NOW - 4 * D);
  assert.equal(soon?.severity, "medium");
  const [later] = certRules(status({ cert: { expiresAt: iso(NOW + 30 * D) } }), NOW, rules);
  assert.equal(later?.since, NOW + 16 * D, "not due yet, but the tick knows when");
  assert.equal(certRules(status({ cert: { expiresAt: iso(NOW - D) } }), NOW, rules)[0]?.severity, "high");
  assert.deepEqual(certRules(status(), NOW, rules), []);
});

test("domain.expiring: due `within` (30d by default) before the registration ends; expired is at least high; loops.rules.domain.expiring.within moves it", () => {
  const dom = (expiresAt: string) =>
    status({ name: "site", kind: "domain", domain: { name: "example.org", expiresAt } });
  const [soon] = domainRules(dom(iso(NOW + 10 * D)), NOW, rules);
  assert.equal(soon?.kind, "domain.expiring");
  assert.equal(soon?.since, NOW - 20 * D);
  assert.equal(soon?.severity, "medium");
  assert.equal(soon?.evidence.domain, "example.org");
  assert.match(soon?.summary ?? "", /example\.org/);
  assert.equal(domainRules(dom(iso(NOW - D)), NOW, rules)[0]?.severity, "high");
  assert.deepEqual(domainRules(status(), NOW, rules), []);
  const week = resolveRules(LoopsConfig.parse({ rules: { "domain.expiring": { within: "7d" } } }));
  assert.equal(domainRules(dom(iso(NOW + 10 * D)), NOW, week)[0]?.since, NOW + 3 * D);
  // Reached through evaluate(), beside the service rules.
  const all = evaluate({ source: "service", at: NOW, seq: 1, data: dom(iso(NOW + 10 * D)) }, NOW, rules) ?? [];
  assert.deepEqual(kinds(all), ["domain.expiring"]);
});
