import assert from "node:assert/strict";
import { test } from "node:test";
import { type Loop, TriageReply } from "@mirror/contracts";
import fc from "fast-check";
import { triage } from "../src/triage.js";
import { makeLoop } from "./fixtures.js";

const now = Date.parse("2026-03-10T12:00:00Z");
const DAY = 86_400_000;
const ctx = { now, home: "/home/ada" };

test("repo.dirty says how many files, for how long, where, and what to do", () => {
  const loop = makeLoop(
    "repo.dirty",
    { repo: "/home/ada/code/site" },
    {
      now,
      openedAgoMs: DAY,
      evidence: { unstaged: 2, untracked: 1, staged: 0, dirtySince: new Date(now - 2 * DAY - 3_600_000).toISOString() },
    },
  );
  const out = triage(loop, ctx);
  assert.equal(out.adapter, "rules");
  assert.equal(out.summary, "3 files uncommitted for 2 days in ~/code/site (2 modified, 1 untracked)");
  assert.match(out.nextAction, /^Commit or stash them: git -C ~\/code\/site status/);
  assert.equal(out.severity, "medium");
  TriageReply.parse(out);
});

test("severity grows with the age of the condition", () => {
  const at = (ago: number) => triage(makeLoop("repo.dirty", { repo: "/r" }, { now, openedAgoMs: ago }), ctx).severity;
  assert.deepEqual([at(0), at(3 * DAY), at(20 * DAY)], ["low", "medium", "high"]);
  const down = (ago: number) =>
    triage(makeLoop("service.down", { service: "web" }, { now, openedAgoMs: ago }), ctx).severity;
  assert.deepEqual([down(60_000), down(2 * 3_600_000)], ["high", "critical"]);
});

test("every known kind has its own useful text", () => {
  const cases: [string, { repo?: string; service?: string }, Record<string, unknown>, RegExp][] = [
    ["repo.unpushed", { repo: "/home/ada/x" }, { ahead: 3, branch: "main" }, /^3 commits on main not pushed/],
    ["repo.no-upstream", { repo: "/home/ada/x" }, { hasRemote: false }, /no remote at all/],
    [
      "repo.stash",
      { repo: "/home/ada/x" },
      { stashes: { count: 2, oldestAt: new Date(now - 8 * DAY).toISOString() } },
      /^2 stashes in ~\/x, the oldest 1 week old/,
    ],
    ["repo.stale-branch", { repo: "/home/ada/x" }, { branch: "feat/$(rm -rf)" }, /^Branch feat\/\$\(rm -rf\) in ~\/x/],
    [
      "repo.stale-branch",
      { repo: "/home/ada/x" },
      { branch: "old", branches: [{ name: "old" }, { name: "older" }] },
      /no commit for .* \(1 more stale branch\)$/,
    ],
    [
      "repo.conflict",
      { repo: "/home/ada/x" },
      { operation: "rebase", conflicted: 1 },
      /^A rebase left half done .* 1 file in conflict/,
    ],
    ["repo.behind", { repo: "/home/ada/x" }, { behind: 4, upstream: "origin/main" }, /4 commits behind origin\/main/],
    ["service.down", { service: "web" }, { reason: "connect ECONNREFUSED" }, /^web has been down for .*ECONNREFUSED/],
    [
      "service.degraded",
      { service: "web" },
      { failedConditions: [{ condition: "status == 200", actual: "500" }] },
      /failing status == 200/,
    ],
    [
      "heartbeat.missed",
      { service: "backup" },
      { heartbeat: { lastPingAt: new Date(now - 2 * DAY).toISOString(), expectedBy: null, missed: true } },
      /has not checked in for 2 days/,
    ],
    [
      "cert.expiring",
      { service: "web" },
      { cert: { expiresAt: new Date(now + 5 * DAY).toISOString() } },
      /expires in 5 days/,
    ],
    [
      "domain.expiring",
      { service: "site" },
      { domain: "home.example", expiresAt: new Date(now + 10 * DAY).toISOString(), registrar: "Test Registrar" },
      /^The registration of home\.example expires in 1 week/,
    ],
  ];
  for (const [kind, entity, evidence, re] of cases) {
    const out = triage(makeLoop(kind, entity, { now, evidence }), ctx);
    assert.match(out.summary, re, kind);
    assert.ok(out.nextAction.length > 10, kind);
  }
  const stale = triage(
    makeLoop("repo.stale-branch", { repo: "/home/ada/x" }, { now, evidence: { branch: "feat/$(rm -rf)" } }),
    ctx,
  );
  assert.match(stale.nextAction, /branch -d 'feat\/\$\(rm -rf\)'/, "an untrusted branch name is quoted in a command");
  const cert = triage(
    makeLoop(
      "cert.expiring",
      { service: "web" },
      { now, evidence: { cert: { expiresAt: new Date(now + 2 * DAY).toISOString() } } },
    ),
    ctx,
  );
  assert.equal(cert.severity, "critical");
});

test("an unknown kind still gets a reply, keeping the detector's severity", () => {
  const out = triage(makeLoop("disk.full", { service: "nas" }, { now }), ctx);
  assert.equal(out.severity, "low");
  assert.match(out.summary, /disk.full on nas/);
});

test("any evidence at all yields a valid reply (property)", () => {
  const kinds = fc.constantFrom(
    "repo.dirty",
    "repo.unpushed",
    "repo.no-upstream",
    "repo.stash",
    "repo.stale-branch",
    "repo.conflict",
    "repo.behind",
    "service.down",
    "service.degraded",
    "heartbeat.missed",
    "cert.expiring",
    "x.y",
  );
  fc.assert(
    fc.property(
      kinds,
      fc.dictionary(fc.string(), fc.anything()),
      fc.string({ minLength: 1 }),
      fc.nat(400 * DAY),
      (kind, evidence, name, ago) => {
        const entity = kind.startsWith("repo.") ? { repo: `/home/ada/${name}` } : { service: name };
        const loop: Loop = { ...makeLoop(kind, entity, { now, openedAgoMs: ago }), evidence };
        const out = TriageReply.parse(triage(loop, ctx));
        assert.doesNotMatch(out.summary, /[\u0000-\u001f]/);
      },
    ),
  );
});
