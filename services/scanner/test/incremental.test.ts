import assert from "node:assert/strict";
import { mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { Bus } from "@mirror/bus";
import { ScannerConfig } from "@mirror/contracts";
import { createLogger, createStore, ManualClock } from "@mirror/kit";
import { git, makeRepo, type ServerHandle, startNats, startRedis, waitFor } from "@mirror/testkit";
import { Registry } from "prom-client";
import { ScannerMetrics } from "../src/metrics.js";
import { Scanner } from "../src/scanner.js";
import { commitFile, realTemp } from "./fixtures.js";
import { latest, observeRepos } from "./helpers.js";

let nats: ServerHandle;
let redis: ServerHandle;
const log = createLogger("scanner", { write: () => true } as never, "silent");

before(async () => {
  [nats, redis] = await Promise.all([startNats(), startRedis()]);
});
after(async () => {
  await Promise.all([nats.dispose(), redis.dispose()]);
});

async function newScanner(roots: string[], clock: ManualClock, prefix: string) {
  const bus = await Bus.connect({
    name: "scanner",
    url: nats.url,
    log,
    registry: new Registry(),
    publishDeadlineMs: 10_000,
  });
  const store = createStore(redis.url, "scanner", log, { prefix });
  const config = ScannerConfig.parse({ roots, resync: "10m", concurrency: 2 });
  const scanner = new Scanner({ bus, store, log, clock, metrics: new ScannerMetrics(new Registry()), config });
  await scanner.load();
  return { scanner, close: async () => Promise.all([bus.close(), store.quit()]) };
}

test("an unchanged repo is not read again; every kind of change is; keep-alive after resync", async () => {
  const dir = realTemp();
  const repo = makeRepo(join(dir, "r"), { ".gitignore": "node_modules/\n", "a.txt": "a\n" });
  mkdirSync(join(repo, "node_modules", "x"), { recursive: true });
  writeFileSync(join(repo, "node_modules", "x", "i.js"), "");
  const lib = makeRepo(join(dir, "lib"));
  git(repo, "-c", "protocol.file.allow=always", "submodule", "add", "-q", lib, "sub");
  git(repo, "commit", "-qm", "sub");
  const clock = new ManualClock(Date.now());
  const { scanner, close } = await newScanner([dir], clock, "mirror:inc1:");
  const sub = join(repo, "sub");
  try {
    const first = await scanner.scanAll();
    assert.deepEqual([first.repos, first.read, first.published], [3, 3, 3]);
    await scanner.scanAll(); // learns the ignored folders
    const quiet = await scanner.scanAll();
    assert.deepEqual([quiet.read, quiet.published], [0, 0], "nothing changed: no git, no publish");
    const changes: Array<[string, () => void, string]> = [
      ["same-size edit of a tracked file", () => writeFileSync(join(repo, "a.txt"), "b\n"), repo],
      ["staging it (only the index changes)", () => git(repo, "add", "a.txt"), repo],
      ["a commit", () => git(repo, "commit", "-qam", "b"), repo],
      ["a new branch", () => git(repo, "branch", "topic"), repo],
      ["a stash", () => void [writeFileSync(join(repo, "a.txt"), "c\n"), git(repo, "stash", "-q")], repo],
      ["a remote added", () => git(repo, "remote", "add", "origin", "https://example.invalid/x.git"), repo],
      [
        "a file in a new folder",
        () => void [mkdirSync(join(repo, "n", "m"), { recursive: true }), writeFileSync(join(repo, "n", "m", "f"), "")],
        repo,
      ],
      [
        "a rename of an untracked file (read, but the snapshot is the same)",
        () => renameSync(join(repo, "n", "m", "f"), join(repo, "n", "m", "g")),
        "same",
      ],
      ["a commit inside the submodule (its parent shows it too)", () => commitFile(sub, "s.txt"), sub],
    ];
    for (const [what, change, where] of changes) {
      change();
      const s = await scanner.scanAll();
      assert.ok(s.read >= 1, `${what}: read again`);
      assert.equal(s.published >= 1, where !== "same", `${what}: published`);
      if (where === sub) assert.equal(s.read, 2, `${what}: the submodule and its parent`);
    }
    writeFileSync(join(repo, "node_modules", "x", "j.js"), "");
    assert.equal((await scanner.scanAll()).read, 0, "a change in an ignored folder costs no git");
    clock.advance(10 * 60_000);
    const resync = await scanner.scanAll();
    assert.deepEqual([resync.read, resync.published], [3, 3], "keep-alive after scanner.resync");
  } finally {
    await close();
  }
});

test("a removed repo publishes repo.gone, also when it went away while the scanner was stopped", async () => {
  const dir = realTemp();
  const a = makeRepo(join(dir, "a"));
  const b = makeRepo(join(dir, "b"));
  const clock = new ManualClock(Date.now());
  let s1 = await newScanner([dir], clock, "mirror:gone1:");
  const o = await observeRepos(nats.url);
  try {
    await s1.scanner.scanAll();
    rmSync(a, { recursive: true });
    clock.advance(1);
    assert.equal((await s1.scanner.scanAll()).gone, 1);
    assert.equal((await s1.scanner.scanAll()).gone, 0, "gone once");
    await s1.close();
    rmSync(b, { recursive: true });
    s1 = await newScanner([dir], clock, "mirror:gone1:");
    assert.equal((await s1.scanner.scanAll()).gone, 1, "remembered in Redis across a restart");
    await waitFor("both gone events", () => o.gone.length >= 2 && o.gone);
    assert.deepEqual(o.gone.map((g) => g.path).sort(), [a, b].sort());
    const lastA = latest(o, a);
    assert.ok(lastA && (o.gone.find((g) => g.path === a)?.seq ?? 0) > lastA.seq);
  } finally {
    await s1.close();
    await o.close();
  }
});

test("seq keeps rising across a restart, even when the clock went back", async () => {
  const dir = realTemp();
  const repo = makeRepo(join(dir, "r"));
  const clock = new ManualClock(Date.parse("2030-01-01T00:00:00Z"));
  const first = await newScanner([dir], clock, "mirror:seq1:");
  const o = await observeRepos(nats.url);
  try {
    await first.scanner.scanAll();
    await first.close();
    clock.set(Date.parse("2029-01-01T00:00:00Z"));
    const second = await newScanner([dir], clock, "mirror:seq1:");
    await second.scanner.scanAll();
    await second.close();
    const seqs = await waitFor("two snapshots", () => {
      const s = o.snapshots.filter((x) => x.path === repo).map((x) => x.seq);
      return s.length >= 2 && s;
    });
    assert.ok((seqs[1] as number) > (seqs[0] as number), `${seqs[1]} > ${seqs[0]}`);
  } finally {
    await o.close();
  }
});
