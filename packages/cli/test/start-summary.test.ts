// The pieces of `pnpm start`'s output without a mesh: which format, when every service is ready
// (read from the services' own JSON lines, also as --single labels them), and the summary's shapes.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { tempDir, waitFor } from "@mirror/testkit";
import fc from "fast-check";
import { logFormat, prettyFormatter } from "../src/start-output.js";
import {
  NO_CHANNEL_WARNING,
  Readiness,
  StartSummary,
  summarize,
  summaryRecord,
  summaryText,
} from "../src/start-summary.js";

const rec = (service: string, msg: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ level: "info", time: "2026-12-06T07:00:00.000Z", service, ...extra, msg });

test("log format: MIRROR_LOG_FORMAT decides, else pretty only on a terminal; anything else is an error", () => {
  assert.equal(logFormat({}, true), "pretty");
  assert.equal(logFormat({}, false), "json");
  assert.equal(logFormat({}, undefined), "json");
  assert.equal(logFormat({ MIRROR_LOG_FORMAT: "json" }, true), "json");
  assert.equal(logFormat({ MIRROR_LOG_FORMAT: " Pretty " }, false), "pretty");
  assert.equal(logFormat({ MIRROR_LOG_FORMAT: "" }, true), "pretty");
  assert.match(logFormat({ MIRROR_LOG_FORMAT: "yaml" }, true), /must be "json" or "pretty", not "yaml"/);
});

test("readiness: every named service's `service started`, once each, in any order; other lines and services do not count", () => {
  const r = new Readiness(["scanner", "console"]);
  assert.equal(r.see(rec("scanner", "http listening", { port: 1 })), false);
  assert.equal(r.see("scanner | not json"), false);
  assert.equal(r.see(rec("notifier", "service started")), false, "not one of the names");
  assert.equal(r.see(rec("scanner", "service started")), false);
  assert.equal(r.see(rec("scanner", "service started")), false, "a restart is not a second service");
  assert.deepEqual(r.notReady, ["console"]);
  assert.equal(
    r.see(rec("console", "no console user yet", { setupUrl: "http://127.0.0.1:9100/setup?token=abc" })),
    false,
  );
  assert.equal(r.see(rec("console", "service started")), true, "the line that made them all ready");
  assert.equal(r.see(rec("console", "service started")), false, "only once");
  assert.equal(r.setupUrl, "http://127.0.0.1:9100/setup?token=abc");
  assert.deepEqual(r.notReady, []);
  // Whatever a service writes, reading it never throws and never counts a name twice.
  fc.assert(
    fc.property(
      fc.array(
        fc.oneof(
          fc.string(),
          fc.constantFrom("scanner", "console").map((s) => rec(s, "service started")),
        ),
      ),
      (lines) => {
        const x = new Readiness(["scanner", "console"]);
        const hits = lines.filter((l) => x.see(l)).length;
        assert.ok(hits <= 1 && x.started.size <= 2);
      },
    ),
  );
});

test("the summary: a JSON record with the fields, warn level and the warning without a channel; text for a person", () => {
  const r = new Readiness(["scanner", "console", "notifier"]);
  r.see(rec("scanner", "service started"));
  r.see(rec("console", "service started"));
  const status = { consoleUrl: "http://127.0.0.1:9100", repositories: 3, roots: 1, checks: 2, channels: 0 };
  const s = summarize(r, status);
  const record = JSON.parse(summaryRecord(s, new Date("2026-12-06T07:00:00Z")));
  assert.deepEqual(record, {
    level: "warn",
    time: "2026-12-06T07:00:00.000Z",
    service: "mirror",
    consoleUrl: "http://127.0.0.1:9100",
    servicesReady: 2,
    servicesTotal: 3,
    notReady: ["notifier"],
    repositories: 3,
    checks: 2,
    channels: 0,
    warning: NO_CHANNEL_WARNING,
    msg: "mesh ready",
  });
  const text = summaryText(s);
  assert.match(text, /^ {2}services +2\/3 ready \(not ready: notifier\)$/m);
  assert.match(text, /^mirror: WARNING: .*nothing will reach you/m);
  // With a channel and everyone ready: info, no warning.
  r.see(rec("notifier", "service started"));
  const ok = summarize(r, { ...status, channels: 1 });
  assert.equal(JSON.parse(summaryRecord(ok)).level, "info");
  assert.equal(ok.warning, undefined);
  assert.doesNotMatch(summaryText(ok), /WARNING/);
  // `pnpm start scanner`: no console to point at.
  const alone = new Readiness(["scanner"]);
  alone.see(rec("scanner", "service started"));
  assert.equal(summarize(alone, status).consoleUrl, null);
  assert.match(summaryText(summarize(alone, status)), /^ {2}console +not started/m);
  // No answer from `mirror status`: said, not guessed.
  const none = summarize(r, undefined);
  assert.equal(none.repositories, null);
  assert.match(summaryText(none), /^ {2}repositories +unknown: `mirror status` gave no answer$/m);
});

test("pretty: pino-pretty's line with the fields kept, the stack on lines of its own, other lines as they are", async () => {
  const pretty = await prettyFormatter();
  const line = pretty(rec("scanner", "http listening", { port: 9101, nested: { a: 1 } })).replace(
    /\u001b\[[0-9;]*m/g,
    "",
  );
  assert.match(line, /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: http listening \{"port":9101,"nested":\{"a":1\}\}\n$/);
  const err = pretty(
    JSON.stringify({
      level: "error",
      time: "2026-12-06T07:00:00.000Z",
      service: "x",
      err: { type: "Error", message: "boom", stack: "Error: boom\n    at f (a.js:1:1)" },
      msg: "failed",
    }),
  );
  assert.ok(err.split("\n").length > 3 && err.includes("at f (a.js:1:1)"), err);
  assert.equal(pretty("uncaught: TypeError"), "uncaught: TypeError");
  assert.equal(pretty("{not json"), "{not json\n");
});

/** A stand-in for the CLI entry: a real node script that answers `status --json` as `mirror status` does. */
function fakeCli(answer: string): string {
  const file = join(tempDir("mirror-summary-cli-"), "cli.mjs");
  writeFileSync(
    file,
    `if (process.argv.slice(2).join(" ") !== "status --json --wait 30s") process.exit(3);\nprocess.stdout.write(${JSON.stringify(answer)} + "\\n");\n`,
  );
  return file;
}

test("StartSummary: after the deadline it prints what it has, naming who is not ready; stopped first, it prints nothing", async () => {
  const out: string[] = [];
  const status = { consoleUrl: "http://127.0.0.1:9100", repositories: 0, roots: 0, checks: 0, channels: 2 };
  const s = new StartSummary(["scanner", "console"], {
    cli: fakeCli(JSON.stringify(status)),
    env: process.env,
    pretty: false,
    write: (t) => void out.push(t),
    deadlineMs: 100,
  });
  s.see(rec("scanner", "service started"));
  await waitFor("the summary", () => out.length > 0, { timeout: 20_000 });
  const record = JSON.parse(out[0] as string);
  assert.deepEqual(
    [
      record.msg,
      record.level,
      record.servicesReady,
      record.servicesTotal,
      record.notReady,
      record.channels,
      record.warning,
    ],
    ["mesh ready", "warn", 1, 2, ["console"], 2, undefined],
  );
  s.see(rec("console", "service started"));
  assert.equal(out.length, 1, "once");

  const quiet: string[] = [];
  const stopped = new StartSummary(["scanner"], {
    cli: fakeCli(JSON.stringify(status)),
    env: process.env,
    pretty: true,
    write: (t) => void quiet.push(t),
  });
  stopped.see(rec("scanner", "service started"));
  stopped.stop();
  await stopped.settled();
  assert.deepEqual(quiet, [], "the mesh stopped while it asked: nothing printed");
});
