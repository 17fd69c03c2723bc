import assert from "node:assert/strict";
import { test } from "node:test";
import { ConfigError, parseConfig } from "@mirror/kit";

test("an empty file gives every default", () => {
  const c = parseConfig("", {});
  assert.equal(c.bus.url, "nats://127.0.0.1:4222");
  assert.equal(c.store.url, "redis://127.0.0.1:6379");
  assert.equal(c.scanner.port, 9101);
  assert.equal(c.scanner.interval, 60_000);
  assert.equal(c.notifier.port, 9104);
  assert.ok(Object.isFrozen(c.scanner));
});

test("the acceptance config of the foundation issue parses", () => {
  const c = parseConfig(
    `scanner: { roots: [ "/some/dir" ], interval: 1s }
loops: { rules: { repo.dirty: { after: 0s } } }
notifier: { groupWait: 0s, channels: [ { name: hook, type: webhook, url: "http://127.0.0.1:9000/" } ] }`,
    {},
  );
  assert.deepEqual(c.scanner.roots, [{ path: "/some/dir", fetch: false }]);
  assert.equal(c.scanner.interval, 1_000);
  assert.equal(c.loops.rules["repo.dirty"]?.after, 0);
  assert.equal(c.notifier.groupWait, 0);
});

test("MIRROR_NATS_URL and MIRROR_REDIS_URL override the file", () => {
  const c = parseConfig("bus: { url: nats://x:1 }", {
    MIRROR_NATS_URL: "nats://127.0.0.1:5",
    MIRROR_REDIS_URL: "redis://127.0.0.1:6",
  });
  assert.equal(c.bus.url, "nats://127.0.0.1:5");
  assert.equal(c.store.url, "redis://127.0.0.1:6");
});

test("${ENV} is expanded, with defaults, and a missing variable names its key path", () => {
  const c = parseConfig("store: { url: '${REDIS}' }\nbus: { url: '${NATS:-nats://h:4}' }", { REDIS: "redis://r:1" });
  assert.equal(c.store.url, "redis://r:1");
  assert.equal(c.bus.url, "nats://h:4");
  assert.throws(
    () => parseConfig("store: { url: '${NOPE}' }", {}),
    (err: ConfigError) => err.problems.some((p) => p.startsWith("store.url:") && p.includes("NOPE")),
  );
});

test("errors name the key path of every problem", () => {
  assert.throws(
    () =>
      parseConfig(
        "scanner: { interval: 5, roots: [1] }\nnotifier: { channels: [ { name: a, type: webhook, url: nope } ] }\nbogus: 1",
        {},
      ),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      const text = err.problems.join("\n");
      assert.match(text, /scanner\.interval: durations need a unit/);
      assert.match(text, /scanner\.roots\.0/);
      assert.match(text, /notifier\.channels\.0\.url/);
      assert.match(text, /bogus|unrecognized/i);
      return true;
    },
  );
});

test("a bad duration and bad YAML are clear errors", () => {
  assert.throws(
    () => parseConfig("scanner: { interval: 5 minutes }", {}),
    /scanner\.interval: invalid duration "5 minutes"/,
  );
  assert.throws(() => parseConfig("scanner: [", {}), /not valid YAML/);
  assert.throws(() => parseConfig("- a\n- b", {}), /must be a mapping/);
});

test("a scanner root under ~ means the home folder", () => {
  const c = parseConfig('scanner: { roots: ["~/code", { path: "~", fetch: true }, "/abs"] }', {});
  const home = (process.env.HOME ?? "").replace(/\/$/, "");
  assert.deepEqual(
    c.scanner.roots.map((r) => r.path),
    [`${home}/code`, home, "/abs"],
  );
});

test("top-level maintenance windows (issue 23's `maintenance:`) apply with loops.maintenance; a name taken in both is refused", () => {
  const text = `
loops:
  maintenance:
    - { name: nightly, match: { check: [db] }, cron: "0 2 * * *", duration: 1h }
maintenance:
  - { name: backup, match: { check: [redis] }, start: "2026-12-06T02:00:00Z", end: "2026-12-06T03:00:00Z" }
`;
  const config = parseConfig(text, {}, "mirror.yaml");
  assert.deepEqual(
    config.loops.maintenance.map((w) => w.name),
    ["nightly", "backup"],
  );
  assert.equal((config as Record<string, unknown>).maintenance, undefined, "one list for the loop-detector to read");
  assert.throws(
    () => parseConfig(text.replace("name: backup", "name: nightly"), {}, "mirror.yaml"),
    (err: ConfigError) => err.problems.some((p) => p.startsWith("maintenance.0.name:") && p.includes("nightly")),
  );
});
