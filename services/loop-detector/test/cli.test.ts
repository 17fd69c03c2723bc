import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { promisify } from "node:util";
import { entityKey, loopId } from "@mirror/contracts";
import { tempDir, waitFor } from "@mirror/testkit";
import { Harness } from "./harness.js";

const ROOT = new URL("../../..", import.meta.url).pathname;
let h: Harness;
let env: NodeJS.ProcessEnv;

before(async () => {
  h = await Harness.start();
  const dir = tempDir();
  writeFileSync(join(dir, "mirror.yaml"), "{}\n");
  env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    USER: "carol",
    MIRROR_CONFIG: join(dir, "mirror.yaml"),
    MIRROR_NATS_URL: h.nats.url,
    MIRROR_REDIS_URL: h.redis.url,
  };
  await h.detector("loops: { tick: 50ms, triage: false, rules: { repo.dirty: { after: 0s } } }");
});
after(async () => {
  await h.stop();
});

/** Runs `pnpm mirror ARGS` the way the owner does (node + tsx on the CLI's main.ts). */
async function mirror(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      ["--import", "tsx", "packages/cli/src/main.ts", ...args],
      { cwd: ROOT, env },
    );
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

test("mirror loops / ack / snooze / reopen / close from the command line", async () => {
  const id = loopId("repo.dirty", entityKey({ type: "repo", repo: "/r/cli" }));
  await h.publish(h.snapshot("/r/cli", { staged: 1 }));
  await waitFor("opened", () => h.eventsFor(id)[0]);

  const list = await mirror("loops");
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, new RegExp(`${id.slice(0, 12)}\\s+open\\s+low\\s+repo.dirty\\s+\\S+( \\S+)?\\s+/r/cli`));

  const ack = await mirror("ack", id.slice(0, 6), "--note", "looking");
  assert.equal(ack.code, 0, ack.stderr);
  assert.match(ack.stdout, /acknowledged\s+repo.dirty\s+\/r\/cli/);
  const json = JSON.parse((await mirror("loops", "--status", "acknowledged", "--json")).stdout) as {
    loops: { id: string; history: { by: string; note?: string }[] }[];
  };
  assert.deepEqual(
    json.loops.map((l) => l.id),
    [id],
  );
  assert.deepEqual(json.loops[0]?.history.at(-1), {
    ...json.loops[0]?.history.at(-1),
    by: "user:carol",
    note: "looking",
  });

  const snooze = await mirror("snooze", id, "2h");
  assert.equal(snooze.code, 0, snooze.stderr);
  assert.match(snooze.stdout, /snoozed until/);
  assert.equal((await mirror("reopen", id)).code, 0);
  assert.match((await mirror("close", id, "--by", "dave")).stdout, /closed/);
  assert.match((await mirror("loops")).stdout, /no loops/);
});

test("errors: an unknown id, a snooze into the past, bad options", async () => {
  const unknown = await mirror("ack", "ffffffffffffffff");
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /no loop with id "ffffffffffffffff"/);
  const id = loopId("repo.dirty", entityKey({ type: "repo", repo: "/r/cli" }));
  const past = await mirror("snooze", id, "--until", "2000-01-01T00:00:00Z");
  assert.equal(past.code, 1);
  assert.match(past.stderr, /closed|past/);
  const bad = await mirror("loops", "--status", "bogus");
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /unknown status "bogus"/);
  assert.equal((await mirror("ack")).code, 2);
});
