import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { parseConfig } from "@mirror/kit";
import { tempDir } from "@mirror/testkit";
import fc from "fast-check";
import { compileAll } from "../src/app.js";
import { ConditionError, type Observation, parseCondition } from "../src/conditions.js";

const now = Date.parse("2026-01-01T00:00:00Z");
const obs = (o: Partial<Observation> = {}): Observation => ({
  latencyMs: 120,
  status: 200,
  headers: { "content-type": "application/json; charset=utf-8" },
  body: JSON.stringify({ status: "ok", checks: [{ db: true }], count: 7 }),
  certExpiresAt: now + 20 * 86_400_000,
  now,
  ...o,
});
const passes = (text: string, o = obs()) => parseCondition(text).test(o) === null;

test("the issue's condition forms evaluate as written", () => {
  assert.ok(passes("status == 200"));
  assert.ok(passes("status < 400"));
  assert.ok(!passes("status == 200", obs({ status: 503 })));
  assert.ok(passes("latency < 500ms"));
  assert.ok(!passes("latency < 100ms"));
  assert.ok(passes("body.status == ok"));
  assert.ok(passes("body.checks.0.db == true"));
  assert.ok(passes("body.count >= 7"));
  assert.ok(passes('body contains "ok"'));
  assert.ok(passes("body !contains failure"));
  assert.ok(passes("header.content-type contains json"));
  assert.ok(passes("cert.expiresIn > 14d"));
  assert.ok(!passes("cert.expiresIn > 30d"));
  assert.ok(passes("status==200"));
  assert.ok(passes("body matches ^\\{"));
});

test("a failed condition says what was actually seen", () => {
  assert.deepEqual(parseCondition("body.status == ok").test(obs({ body: '{"status":"down"}' })), {
    condition: "body.status == ok",
    actual: "down",
  });
  assert.deepEqual(parseCondition("body.status == ok").test(obs({ body: "<html>" })), {
    condition: "body.status == ok",
    actual: "body is not JSON",
  });
  assert.deepEqual(parseCondition("body.nope == 1").test(obs()), {
    condition: "body.nope == 1",
    actual: "no nope in the body",
  });
  assert.deepEqual(parseCondition("cert.expiresIn > 1d").test(obs({ certExpiresAt: null })), {
    condition: "cert.expiresIn > 1d",
    actual: "no TLS certificate",
  });
  assert.deepEqual(parseCondition("header.x-id == 1").test(obs()), {
    condition: "header.x-id == 1",
    actual: "no x-id header",
  });
});

test("conditions that cannot be parsed are refused with the reason", () => {
  for (const [text, why] of [
    ["status = 200", /expected "<subject> <operator> <value>"/],
    ["stauts == 200", /unknown subject "stauts"/],
    ["status == ok", /"ok" is not a number/],
    ["latency < fast", /not a duration/],
    ["status contains 2", /applies to body and headers/],
    ["body matches (", /invalid regular expression/],
    ["body.a..b == 1", /empty segment/],
    ["status ==", /expected|missing/],
    ["", /empty/],
  ] as const) {
    assert.throws(
      () => parseCondition(text),
      (err: unknown) => err instanceof ConditionError && why.test(err.message),
      text,
    );
  }
});

test("property: parsing any text either yields a condition or a ConditionError, and a condition never throws", () => {
  fc.assert(
    fc.property(
      fc.string({ maxLength: 60 }),
      fc.string({ maxLength: 200 }),
      fc.integer({ min: 100, max: 599 }),
      (text, body, status) => {
        let c: ReturnType<typeof parseCondition>;
        try {
          c = parseCondition(text);
        } catch (err) {
          assert.ok(err instanceof ConditionError, String(err));
          return;
        }
        const r = c.test(obs({ body, status }));
        assert.ok(r === null || (r.condition === text && typeof r.actual === "string"));
      },
    ),
    { numRuns: 2_000 },
  );
});

test("property: status comparisons agree with the numbers", () => {
  const ops = ["==", "!=", "<", "<=", ">", ">="] as const;
  fc.assert(
    fc.property(
      fc.integer({ min: 100, max: 599 }),
      fc.integer({ min: 100, max: 599 }),
      fc.constantFrom(...ops),
      (actual, want, op) => {
        const expected = {
          "==": actual === want,
          "!=": actual !== want,
          "<": actual < want,
          "<=": actual <= want,
          ">": actual > want,
          ">=": actual >= want,
        }[op];
        assert.equal(passes(`status ${op} ${want}`, obs({ status: actual })), expected);
      },
    ),
  );
});

test("a bad condition or cron is a config error naming the check and the expression", () => {
  const cfg = parseConfig(
    `tracker:
  checks:
    - { name: web, http: { url: "http://127.0.0.1/" }, conditions: ["status == 200", "stauts == 200"] }
    - { name: db, tcp: { host: h, port: 5432 }, conditions: ["status == 200"] }
    - { name: nightly, heartbeat: { cron: "0 25 * * *", grace: 1m } }`,
    {},
  );
  assert.throws(
    () => compileAll(cfg.tracker, "mirror.yaml"),
    (err: Error & { problems?: string[] }) => {
      const text = (err.problems ?? []).join("\n");
      assert.match(
        text,
        /tracker\.checks\.0\.conditions: check "web" conditions\[1\]: cannot parse condition "stauts == 200"/,
      );
      assert.match(
        text,
        /tracker\.checks\.1\.conditions: check "db": condition "status == 200" does not apply to a tcp check/,
      );
      assert.match(text, /tracker\.checks\.2\.heartbeat: check "nightly": cron "0 25 \* \* \*" does not parse/);
      return true;
    },
  );
});

test("the service exits 2 on a bad condition before it needs the bus", () => {
  const dir = tempDir();
  const file = join(dir, "mirror.yaml");
  writeFileSync(
    file,
    `bus: { url: "nats://127.0.0.1:1" }\ntracker: { port: 0, checks: [ { name: web, http: { url: "http://127.0.0.1/" }, conditions: ["status =! 200"] } ] }\n`,
  );
  const main = join(import.meta.dirname, "../src/main.ts");
  const r = spawnSync(process.execPath, ["--import", "tsx", main], {
    env: { ...process.env, MIRROR_CONFIG: file },
    encoding: "utf8",
    timeout: 30_000,
  });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /check "web" conditions\[0\]: cannot parse condition "status =! 200"/);
});
