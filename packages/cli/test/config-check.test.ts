import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { REPO_ROOT, tempDir } from "@mirror/testkit";

function check(yaml: string | null, env: Record<string, string> = {}) {
  const dir = tempDir("mirror-config-check-");
  const file = join(dir, "mirror.yaml");
  if (yaml !== null) writeFileSync(file, yaml);
  const r = spawnSync(
    process.execPath,
    ["--import", "tsx", join(REPO_ROOT, "packages/cli/src/main.ts"), "config", "check", file],
    { cwd: REPO_ROOT, encoding: "utf8", env: { ...process.env, ...env } },
  );
  return { status: r.status, out: r.stdout, err: r.stderr };
}

test("mirror config check FILE: exit 0 on a valid file, 2 with every bad key path on an invalid one, 2 on a half-written one", () => {
  const ok = check(
    'tracker:\n  checks:\n    - { name: cache, redis: { url: "redis://:${PW}@127.0.0.1:6379" } }\nloops:\n  maintenance: [ { name: weekly, match: { check: [cache] }, cron: "0 2 * * 0", duration: 2h } ]\n',
    { PW: "x" },
  );
  assert.equal(ok.status, 0, ok.err);
  assert.match(ok.out, /valid \(1 checks, .* 1 maintenance windows\)/);
  const bad = check(
    "tracker:\n  checks:\n    - { name: d, dns: { name: x.test, server: dns.example } }\n    - { name: c, docker: { socket: /x.sock } }\n",
  );
  assert.equal(bad.status, 2);
  assert.match(bad.err, /tracker\.checks\.0\.dns\.server/);
  assert.match(bad.err, /tracker\.checks\.1\.docker/);
  const half = check('tracker:\n  checks:\n    - { name: web, http: { url: "http://127.0.0.1/');
  assert.equal(half.status, 2);
  assert.match(half.err, /not valid YAML/);
  const missing = check(null);
  assert.equal(missing.status, 2);
  assert.match(missing.err, /cannot read/);
});
