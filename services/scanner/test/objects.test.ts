import assert from "node:assert/strict";
import { readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { commitAll, git, makeRepo } from "@mirror/testkit";
import fc from "fast-check";
import { readCommitTime } from "../src/objects.js";
import { applyDelta } from "../src/pack.js";
import { realTemp } from "./fixtures.js";

test("commit times read from loose objects and from packs (deltas resolved) match git's", async () => {
  const repo = makeRepo(join(realTemp(), "r"));
  for (let i = 0; i < 40; i++) {
    writeFileSync(join(repo, "log.txt"), `line ${i}\n`.repeat(i + 1));
    commitAll(repo, `a long, repetitive commit message so that git stores commits as deltas, number ${i}`);
  }
  const expected = () =>
    git(repo, "log", "--format=%H %ct")
      .trim()
      .split("\n")
      .map((l) => l.split(" ") as [string, string]);
  const check = async (what: string) => {
    let read = 0;
    for (const [sha, ct] of expected()) {
      const t = await readCommitTime(join(repo, ".git"), sha);
      if (t !== undefined) read++;
      assert.equal(t, new Date(Number(ct) * 1000).toISOString(), `${what} ${sha}`);
    }
    return read;
  };
  assert.equal(await check("loose"), 41);
  git(repo, "gc", "-q", "--aggressive", "--prune=now");
  const packDir = join(repo, ".git", "objects", "pack");
  const idx = readdirSync(packDir).find((f) => f.endsWith(".idx")) as string;
  // verify-pack lists a delta as "sha type size packed offset depth base": 7 fields.
  const commitDeltas = git(repo, "verify-pack", "-v", join(packDir, idx))
    .split("\n")
    .filter((l) => / commit /.test(l) && l.trim().split(/\s+/).length === 7).length;
  assert.ok(commitDeltas > 0, "the test needs commits stored as deltas");
  assert.equal(await check("packed"), 41, "every commit read without git, deltas included");
  assert.equal(await readCommitTime(join(repo, ".git"), "0".repeat(40)), undefined);
  assert.equal(await readCommitTime(join(repo, ".git"), "--upload-pack=x"), undefined);
});

test("property: applyDelta never throws, whatever the bytes", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), fc.uint8Array({ maxLength: 64 }), (base, delta) => {
      const out = applyDelta(Buffer.from(base), Buffer.from(delta));
      assert.ok(out === undefined || Buffer.isBuffer(out));
    }),
    { numRuns: 3000 },
  );
});
