import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { PorcelainParseError, parseStatus } from "../src/porcelain.js";

const letter = fc.constantFrom(".", "M", "T", "A", "D", "R", "C", "U");
/** Any path bytes git can print with -z: everything but NUL, not empty. */
const pathBytes = fc
  .uint8Array({ minLength: 1, maxLength: 40 })
  .filter((b) => !b.includes(0))
  .map((b) => Buffer.from(b));
const mode = fc.constantFrom("000000", "100644", "100755", "120000", "160000");
const sha = fc.stringMatching(/^[0-9a-f]{40}$/);

type Rec = {
  kind: "changed" | "renamed" | "unmerged" | "untracked" | "ignored";
  x: string;
  y: string;
  path: Buffer;
  bytes: Buffer;
};

const changed = fc.record({ x: letter, y: letter, path: pathBytes, m: mode, h: sha }).map(({ x, y, path, m, h }) => ({
  rec: {
    kind: "changed",
    x,
    y,
    path,
    bytes: Buffer.concat([Buffer.from(`1 ${x}${y} N... ${m} ${m} ${m} ${h} ${h} `), path, Buffer.from([0])]),
  } as Rec,
}));
const renamed = fc
  .record({ x: letter, y: letter, path: pathBytes, orig: pathBytes, h: sha, score: fc.integer({ min: 0, max: 100 }) })
  .map(({ x, y, path, orig, h, score }) => ({
    rec: {
      kind: "renamed",
      x,
      y,
      path,
      bytes: Buffer.concat([
        Buffer.from(`2 ${x}${y} N... 100644 100644 100644 ${h} ${h} R${score} `),
        path,
        Buffer.from([0]),
        orig,
        Buffer.from([0]),
      ]),
    } as Rec,
  }));
const unmerged = fc.record({ x: letter, y: letter, path: pathBytes, h: sha }).map(({ x, y, path, h }) => ({
  rec: {
    kind: "unmerged",
    x,
    y,
    path,
    bytes: Buffer.concat([
      Buffer.from(`u ${x}${y} N... 100644 100644 100644 100644 ${h} ${h} ${h} `),
      path,
      Buffer.from([0]),
    ]),
  } as Rec,
}));
const other = fc.record({ t: fc.constantFrom("?", "!"), path: pathBytes }).map(({ t, path }) => ({
  rec: {
    kind: t === "?" ? "untracked" : "ignored",
    x: t,
    y: t,
    path,
    bytes: Buffer.concat([Buffer.from(`${t} `), path, Buffer.from([0])]),
  } as Rec,
}));
const headers = fc.record({
  oid: fc.option(sha, { nil: undefined }),
  head: fc.option(fc.stringMatching(/^[a-z][a-z0-9/_-]{0,20}$/), { nil: undefined }),
  ab: fc.option(fc.tuple(fc.nat(1000), fc.nat(1000)), { nil: undefined }),
  stash: fc.option(fc.nat(50), { nil: undefined }),
});

test("property: valid porcelain v2 output parses to exactly its records and counts", () => {
  fc.assert(
    fc.property(headers, fc.array(fc.oneof(changed, renamed, unmerged, other), { maxLength: 30 }), (h, items) => {
      const head = [
        `# branch.oid ${h.oid ?? "(initial)"}`,
        `# branch.head ${h.head ?? "(detached)"}`,
        ...(h.ab ? ["# branch.upstream origin/x", `# branch.ab +${h.ab[0]} -${h.ab[1]}`] : []),
        ...(h.stash !== undefined ? [`# stash ${h.stash}`] : []),
      ].map((l) => Buffer.from(`${l}\0`));
      const report = parseStatus(Buffer.concat([...head, ...items.map((i) => i.rec.bytes)]));
      const recs = items.map((i) => i.rec);
      assert.equal(report.oid, h.oid ?? null);
      assert.equal(report.head, h.head ?? null);
      assert.equal(report.ahead, h.ab ? h.ab[0] : null);
      assert.equal(report.stashes, h.stash ?? 0);
      const tracked = recs.filter((r) => r.kind === "changed" || r.kind === "renamed");
      assert.equal(report.staged, tracked.filter((r) => r.x !== ".").length);
      assert.equal(report.unstaged, tracked.filter((r) => r.y !== ".").length);
      assert.equal(report.conflicted, recs.filter((r) => r.kind === "unmerged").length);
      assert.equal(report.untracked, recs.filter((r) => r.kind === "untracked").length);
      const notIgnored = recs.filter((r) => r.kind !== "ignored");
      assert.deepEqual(
        report.entries.map((e) => e.bytes),
        notIgnored.map((r) => r.path),
      );
      assert.deepEqual(
        report.entries.map((e) => e.kind),
        notIgnored.map((r) => r.kind),
      );
    }),
    { numRuns: 300 },
  );
});

test("property: any input either parses or throws PorcelainParseError, nothing else", () => {
  const noise = fc.oneof(
    fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
    fc.string({ maxLength: 200 }),
    // Near-valid records: a real prefix with random tails and truncations.
    fc
      .tuple(
        fc.constantFrom("1 ", "2 ", "u ", "? ", "! ", "# branch.ab ", "# stash ", "# branch.oid ", "1 .M N... 100644 "),
        fc.string({ maxLength: 60 }),
        fc.boolean(),
      )
      .map(([a, b, nul]) => `${a}${b}${nul ? "\0" : ""}`),
  );
  fc.assert(
    fc.property(fc.array(noise, { maxLength: 5 }), (parts) => {
      const input = parts.map((p) => (typeof p === "string" ? Buffer.from(p) : p));
      try {
        const r = parseStatus(Buffer.concat(input));
        assert.ok(r.staged >= 0 && r.untracked >= 0);
      } catch (err) {
        if (!(err instanceof PorcelainParseError)) throw err;
      }
    }),
    { numRuns: 2000 },
  );
});

test("examples: rename source, paths with spaces and newlines, the entry cap keeps counting", () => {
  const out =
    "# branch.oid abc\0# branch.head main\0" +
    "2 R. N... 100644 100644 100644 aaa aaa R100 new name\0old\nname\0" +
    "? a b\0? c\0? d\0! node_modules/\0";
  const r = parseStatus(out, { maxEntries: 2 });
  assert.equal(r.entries[0]?.path, "new name");
  assert.equal(r.entries[0]?.origPath, "old\nname");
  assert.deepEqual([r.staged, r.untracked, r.entries.length, r.ignoredPaths], [1, 3, 2, ["node_modules/"]]);
  assert.throws(() => parseStatus("1 XY\0"), PorcelainParseError);
  assert.throws(() => parseStatus("# branch.ab +1\0"), PorcelainParseError);
  assert.throws(() => parseStatus("2 R. N... 100644 100644 100644 a a R100 x\0"), /source path/);
});
