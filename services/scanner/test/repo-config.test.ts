// The config git resolves (src/repo-config.ts) and its cache: parsed from git's own -z listing,
// every named driver made inert, and re-resolved exactly when a file git read (or a file an
// include names, present or not, or HEAD for onbranch) changes. Real git throughout.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, realpathSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { test } from "node:test";
import { git, makeRepo } from "@mirror/testkit";
import fc from "fast-check";
import { type FoundRepo, repoAt } from "../src/discover.js";
import { gitArgs, gitBinary, gitEnv } from "../src/git.js";
import { inertArgs } from "../src/inert.js";
import { type ConfigEntry, parseConfigList, RepoConfigCache } from "../src/repo-config.js";
import { readRepo } from "../src/snapshot.js";
import { realTemp } from "./fixtures.js";

const found = async (dir: string) => (await repoAt(realpathSync(dir), realpathSync(dir))) as FoundRepo;

function canary(dir: string): { script: string; mark: string } {
  const mark = join(dir, "RAN");
  const script = join(dir, "canary.sh");
  writeFileSync(script, `#!/bin/sh\ntouch '${mark}'\nexit 1\n`);
  chmodSync(script, 0o755);
  return { script, mark };
}

test("the -z listing parses back to what was listed, whatever the keys and values hold", () => {
  const text = fc.string({ unit: fc.constantFrom("a", "Z", ".", "=", " ", '"', "\\", "\n", "é", "/") });
  const entry = fc
    .record({
      scope: fc.constantFrom("system", "global", "local", "worktree", "command"),
      file: fc.option(
        text.map((t) => `/x/${t.replaceAll("\n", "")}`),
        { nil: null },
      ),
      key: text.map((t) => `s.${t.replaceAll("\n", "")}.k`),
      value: fc.option(text, { nil: null }),
    })
    .map((e): ConfigEntry => ({ ...e }));
  fc.assert(
    fc.property(fc.array(entry), (entries) => {
      const listed = entries
        .map(
          (e) =>
            `${e.scope}\0${e.file ? `file:${e.file}` : "command line:"}\0${e.key}${e.value === null ? "" : `\n${e.value}`}\0`,
        )
        .join("");
      // Origins come back as absolute, normalised paths.
      assert.deepEqual(
        parseConfigList(listed, "/cwd"),
        entries.map((e) => ({ ...e, file: e.file && resolve("/cwd", e.file) })),
      );
    }),
  );
});

test("git's own listing: quoted, escaped and multi-line values, relative origins made absolute", async () => {
  const repo = makeRepo(join(realTemp(), "r"));
  writeFileSync(join(repo, ".git", "inc.cfg"), '[filter "a=b"]\n\tclean = "x ; y"\n');
  const cfg = join(repo, ".git", "config");
  writeFileSync(cfg, `${execFileSync("cat", [cfg])}[include]\n\tpath = inc.cfg ; c\n[x]\n\tnl = "one\\ntwo"\n\tflag\n`);
  const out = execFileSync(gitBinary(), gitArgs(["config", "--list", "--show-scope", "--show-origin", "-z"]), {
    cwd: repo,
    env: gitEnv(),
  });
  const local = parseConfigList(out.toString(), repo).filter((e) => e.scope === "local");
  assert.deepEqual(
    local.find((e) => e.key === "filter.a=b.clean"),
    { scope: "local", file: join(repo, ".git", "inc.cfg"), key: "filter.a=b.clean", value: "x ; y" },
  );
  assert.equal(local.find((e) => e.key === "x.nl")?.value, "one\ntwo");
  assert.equal(local.find((e) => e.key === "x.flag")?.value, null);
});

test("each driver name is overridden exactly as git reported it", () => {
  assert.deepEqual(
    inertArgs(["filter.Mixed.clean", "filter.a=b.smudge"]).filter((a) => a.includes(".clean=")),
    ["--config-env=filter.Mixed.clean=MIRROR_GIT_EMPTY", "--config-env=filter.a=b.clean=MIRROR_GIT_EMPTY"],
  );
  assert.ok(inertArgs(["diff.x.y.textconv"]).includes("--config-env=diff.x.y.textconv=MIRROR_GIT_EMPTY"));
  assert.ok(inertArgs(["pager.status"]).includes("--config-env=pager.status=MIRROR_GIT_FALSE"));
  assert.deepEqual(inertArgs(["core.bare", "user.name", "include.path"]), []);
});

test("a rescan of an unchanged repo resolves no config; a filter that arrives later through an include is inert", async () => {
  const dir = realTemp();
  const { script, mark } = canary(dir);
  const repo = makeRepo(join(dir, "r"), { "a.txt": "a\n", ".gitattributes": "* filter=late\n" });
  // The include names a worktree file that does not exist yet (a pull could bring it).
  git(repo, "config", "include.path", "../later.cfg");
  const cache = new RepoConfigCache();
  const r = await found(repo);
  const first = await cache.read(r, null);
  assert.equal(cache.resolved, 1);
  assert.ok(!first.args.some((a) => a.includes("filter.late.")));
  for (let i = 0; i < 3; i++) assert.equal(await cache.read(r, null), first);
  assert.equal(cache.resolved, 1, "an unchanged repo spawned `git config` again");
  writeFileSync(join(repo, "later.cfg"), `[filter "late"]\n\tclean = ${script}\n`);
  writeFileSync(join(repo, "a.txt"), "changed\n");
  const s = (await readRepo(r, { maxUntracked: 100, configCache: cache })).body;
  assert.equal(cache.resolved, 2, "the new include target was not noticed");
  assert.equal(existsSync(mark), false, "the filter from the new include ran");
  assert.equal(s.error, null);
  assert.ok(s.unstaged >= 1);
  assert.ok((await cache.read(r, null)).args.includes("--config-env=filter.late.clean=MIRROR_GIT_EMPTY"));
  assert.equal(cache.resolved, 2);
});

test("an onbranch include is re-resolved when HEAD moves", async () => {
  const dir = realTemp();
  const repo = makeRepo(join(dir, "r"));
  writeFileSync(join(repo, ".git", "feature.cfg"), '[filter "feat"]\n\tclean = false\n');
  git(repo, "config", "includeIf.onbranch:feature.path", "feature.cfg");
  const cache = new RepoConfigCache();
  const r = await found(repo);
  assert.ok(!(await cache.read(r, null)).args.some((a) => a.includes("filter.feat.")));
  git(repo, "checkout", "-q", "-b", "feature");
  assert.ok((await cache.read(r, null)).args.includes("--config-env=filter.feat.clean=MIRROR_GIT_EMPTY"));
  assert.equal(cache.resolved, 2);
});

/** The effective (last) value of each filter key git reads with the scanner's overrides. */
function effectiveFilters(repo: string, extra: readonly string[]): Map<string, string> {
  const out = execFileSync(gitBinary(), gitArgs(["config", "-z", "--get-regexp", "^filter\\."], extra), {
    cwd: repo,
    env: gitEnv(),
  }).toString();
  const last = new Map<string, string>();
  for (const kv of out.split("\0").filter(Boolean)) {
    const nl = kv.indexOf("\n");
    last.set(nl < 0 ? kv : kv.slice(0, nl), nl < 0 ? "" : kv.slice(nl + 1));
  }
  return last;
}

test("whatever the header's syntax, case or characters, each filter git reads is inert under the overrides", async () => {
  const repo = makeRepo(join(realTemp(), "r"));
  const cfg = join(repo, ".git", "config");
  const base = execFileSync("cat", [cfg]).toString();
  const name = fc.string({ unit: fc.constantFrom("a", "B", "z", "0", ".", "-"), minLength: 1, maxLength: 6 });
  const quoted = fc.string({
    unit: fc.constantFrom("a", "Q", ".", "=", " ", '\\"', "\\\\", "#", ";", "]", "é", "-"),
    minLength: 1,
    maxLength: 6,
  });
  const header = fc.oneof(
    fc.tuple(fc.constantFrom("filter", "FILTER", "Filter", "fIlTeR"), quoted).map(([s, n]) => `[${s} "${n}"]`),
    fc.tuple(fc.constantFrom("filter", "FILTER", "Filter"), name).map(([s, n]) => `[${s}.${n}]`),
  );
  const key = fc.constantFrom("clean", "CLEAN", "smudge", "Process");
  await fc.assert(
    fc.asyncProperty(fc.array(fc.tuple(header, key), { minLength: 1, maxLength: 4 }), async (sections) => {
      writeFileSync(cfg, `${base}${sections.map(([h, k]) => `${h}\n\t${k} = evil-program\n`).join("")}`);
      const cache = new RepoConfigCache();
      const { args } = await cache.read(await found(repo), null);
      const seen = effectiveFilters(repo, []);
      assert.ok(seen.size > 0, "git read no filter: the generated config is not what was meant");
      for (const [k, v] of effectiveFilters(repo, args))
        if (/\.(clean|smudge|process)$/.test(k)) assert.equal(v, "", `${k} is still ${v}`);
    }),
    { numRuns: 40 },
  );
});

test("an include git expands in a way not mirrored here (~user/, %(prefix)/) is resolved again at every read", async () => {
  const repo = makeRepo(join(realTemp(), "r"));
  git(repo, "config", "include.path", "~root/never-there.cfg");
  const cache = new RepoConfigCache();
  const r = await found(repo);
  await cache.read(r, null);
  await cache.read(r, null);
  assert.equal(cache.resolved, 2);
});
