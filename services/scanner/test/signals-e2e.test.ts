// Issue 3's acceptance as a new user would try it: `pnpm start` (every service, one process
// each) with `scanner: { roots: [DIR], interval: 1s }` and every repo rule at `after: 0s`;
// each signal reaches a real webhook as its own loop for the right repo, with a broken repo
// in the same folder. Alerts are grouped per loop (groupBy alertname+repo): with the default
// grouping by alertname, a second repo joining a group would wait for groupInterval (5m).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { appendFileSync, existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import {
  commitAll,
  freePort,
  git,
  makeRepo,
  type Receiver,
  type ServerHandle,
  startMesh,
  startNats,
  startReceiver,
  startRedis,
} from "@mirror/testkit";
import { commitFile, realTemp, remoteAndClone } from "./fixtures.js";

type Alert = { status: string; labels: Record<string, string> };

let nats: ServerHandle;
let redis: ServerHandle;
let hook: Receiver;

before(async () => {
  [nats, redis, hook] = await Promise.all([startNats(), startRedis(), startReceiver()]);
});
after(async () => {
  await Promise.all([nats.dispose(), redis.dispose(), hook.close()]);
});

/** One repo per signal (each also shows others; what matters is that its own loop arrives). */
function buildRoot(): { root: string; mark: string; expect: Array<[string, string]> } {
  const root = realTemp();
  const dirty = makeRepo(join(root, "dirty"));
  writeFileSync(join(dirty, "notes.txt"), "unfinished\n");
  const remotes = realTemp();
  const { bare, clone: unpushed } = remoteAndClone(join(remotes, "u"));
  void bare;
  const tmpUnpushed = join(root, "unpushed");
  git(root, "clone", "-q", join(remotes, "u", "remote.git"), tmpUnpushed);
  commitFile(tmpUnpushed, "local-only.txt");
  void unpushed;
  const lonely = makeRepo(join(root, "no-remote"));
  const stash = makeRepo(join(root, "stash"));
  writeFileSync(join(stash, "README.md"), "wip\n");
  git(stash, "stash", "-q");
  const stale = makeRepo(join(root, "stale"));
  git(stale, "checkout", "-q", "-b", "old-idea");
  commitFile(stale, "idea.txt");
  git(stale, "checkout", "-q", "main");
  const conflict = makeRepo(join(root, "conflict"), { "a.txt": "base\n" });
  git(conflict, "checkout", "-q", "-b", "other");
  writeFileSync(join(conflict, "a.txt"), "theirs\n");
  commitAll(conflict, "theirs");
  git(conflict, "checkout", "-q", "main");
  writeFileSync(join(conflict, "a.txt"), "ours\n");
  commitAll(conflict, "ours");
  assert.throws(() => git(conflict, "merge", "-q", "other"));
  const behind = join(root, "behind");
  git(root, "clone", "-q", join(remotes, "u", "remote.git"), behind);
  const pusher = join(remotes, "pusher");
  git(remotes, "clone", "-q", join(remotes, "u", "remote.git"), pusher);
  commitFile(pusher, "upstream-only.txt");
  git(pusher, "push", "-q", "origin", "main");
  git(behind, "fetch", "-q");
  // Another user's repo (issue 27): not opened, shown as its own loop. Needs root for chown (CI runs as root).
  const foreign = makeRepo(join(root, "foreign"));
  execFileSync("chown", ["-R", "12345:12345", foreign]);
  // The two exploits of issue 27 as reported: an old-style [filter.EVIL] header and an include
  // with a trailing comment, each with `* filter=evil` and a stat-dirty file. No mark may appear.
  const mark = join(realTemp(), "PWNED");
  for (const [name, config, extra] of [
    ["evil-header", `[filter.EVIL]\n\tclean = sh -c "id > ${mark}"\n`, undefined],
    ["evil-include", "[include]\n\tpath = extra.cfg ; comment\n", `[filter "evil"]\n\tclean = sh -c "id > ${mark}"\n`],
  ] as const) {
    const evil = makeRepo(join(root, name), { "a.txt": "a\n", ".gitattributes": "* filter=evil\n" });
    appendFileSync(join(evil, ".git", "config"), config);
    if (extra) writeFileSync(join(evil, ".git", "extra.cfg"), extra);
    writeFileSync(join(evil, "a.txt"), "changed\n");
  }
  const broken = makeRepo(join(root, "broken"));
  writeFileSync(join(broken, ".git", "HEAD"), "garbage\n");
  return {
    root,
    mark,
    expect: [
      ["repo.dirty", dirty],
      ["repo.unpushed", tmpUnpushed],
      ["repo.no-upstream", lonely],
      ["repo.stash", stash],
      ["repo.stale-branch", stale],
      ["repo.conflict", conflict],
      ["repo.behind", behind],
      ["repo.untrusted", foreign],
    ],
  };
}

test("every repo signal reaches the webhook as its own loop for the right repo, beside a broken repo", {
  timeout: 240_000,
}, async () => {
  const { root, mark, expect } = buildRoot();
  const rules = expect.map(([rule]) => `${rule}: { after: 0s }`).join(", ");
  const [p1, p2, p3, p4, p5] = await Promise.all(Array.from({ length: 5 }, () => freePort()));
  const mesh = startMesh(
    `scanner: { roots: [ "${root}" ], interval: 1s, port: ${p1} }
loops: { rules: { ${rules} }, port: ${p2} }
notifier: { groupWait: 0s, groupBy: [alertname, repo], port: ${p3}, channels: [ { name: hook, type: webhook, url: "${hook.url}" } ] }
tracker: { port: ${p4} }
model: { port: ${p5} }
`,
    { env: { MIRROR_NATS_URL: nats.url, MIRROR_REDIS_URL: redis.url, MIRROR_HTTP_HOST: "127.0.0.1" } },
  );
  const alerts = () => hook.requests.flatMap((r) => ((r.json as { alerts?: Alert[] })?.alerts ?? []) as Alert[]);
  const firing = (rule: string, repo: string) =>
    alerts().some((a) => a.status === "firing" && a.labels.alertname === rule && a.labels.repo === repo);
  try {
    for (const [rule, repo] of expect) {
      await hook
        .waitFor(`${rule} firing for ${repo}`, () => firing(rule, repo), 120_000)
        .catch((err: Error) => {
          const seen = alerts().map((a) => `${a.status} ${a.labels.alertname} ${a.labels.repo}`);
          throw new Error(
            `${err.message}\nalerts seen:\n${seen.join("\n")}\n--- mesh output ---\n${mesh.output.slice(-60).join("\n")}`,
          );
        });
    }
    assert.ok(
      mesh.output.some((l) => l.includes('"service":"scanner"') && l.includes("/broken")),
      "the broken repo is logged",
    );
    // Both evil repos were scanned (their dirt is a loop) and their filter never ran.
    for (const name of ["evil-header", "evil-include"])
      await hook.waitFor(`${name} dirty`, () => firing("repo.dirty", join(root, name)), 60_000);
    assert.equal(existsSync(mark), false, "a repo's filter ran in the mesh's scanner");
  } finally {
    await mesh.stop();
  }
});
