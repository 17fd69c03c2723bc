import assert from "node:assert/strict";
import { test } from "node:test";
import { NotifierConfig } from "@mirror/contracts";
import fc from "fast-check";
import { backoffDelay, retryDelay } from "../src/backoff.js";
import { headerText } from "../src/channels/chat.js";
import { classify, parseRetryAfter } from "../src/channels/http.js";
import { sign } from "../src/channels/webhook.js";
import { globToRegExp, matches, parseMatcher } from "../src/matchers.js";
import { inQuietHours, quietEndsAt } from "../src/quiet-hours.js";
import { groupLabels, Router, severityTest } from "../src/routing.js";
import { inhibitTest, silenceTest } from "../src/silences.js";
import { parseTemplate, render } from "../src/template.js";
import { renderText } from "../src/text.js";

test("Standard Webhooks signature matches the specification's example", () => {
  assert.equal(
    sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, '{"test": 2432232314}'),
    "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
  );
});

test("matchers: the four operators, anchored regexes, missing labels as empty", () => {
  const labels = { alertname: "repo.dirty", severity: "high" };
  assert.ok(matches(parseMatcher("alertname=repo.dirty"), labels));
  assert.ok(matches(parseMatcher("severity!=low"), labels));
  assert.ok(matches(parseMatcher("alertname=~repo\\..*"), labels));
  assert.ok(!matches(parseMatcher("alertname=~dirty"), labels), "regexes are anchored");
  assert.ok(matches(parseMatcher("service!~.+"), labels));
  assert.ok(matches(parseMatcher('repo=""'), labels));
  assert.throws(() => parseMatcher("not a matcher"), /invalid matcher/);
  assert.throws(() => parseMatcher("a=~("), /invalid regex/);
});

test("matcher parsing never throws anything but a MatcherError (property)", () => {
  fc.assert(
    fc.property(fc.string(), (s) => {
      try {
        parseMatcher(s);
      } catch (err) {
        assert.equal((err as Error).name, "MatcherError");
      }
    }),
  );
});

test("kind globs and severity specs", () => {
  assert.ok(globToRegExp("repo.*").test("repo.dirty"));
  assert.ok(!globToRegExp("repo.*").test("service.down"));
  assert.ok(globToRegExp("*.down").test("service.down"));
  assert.ok(severityTest(">= high")("critical"));
  assert.ok(!severityTest(">= high")("medium"));
  assert.ok(severityTest(["low", "info"])("low"));
  assert.ok(severityTest("critical")("critical"));
  assert.ok(!severityTest("< low")("bogus"));
});

test("routing: first match wins unless continue; no match falls back to every channel", () => {
  const cfg = NotifierConfig.parse({
    channels: [
      { name: "hook", type: "webhook", url: "http://127.0.0.1:1/" },
      { name: "phone", type: "ntfy", url: "http://127.0.0.1:1/t" },
      { name: "pager", type: "ntfy", url: "http://127.0.0.1:1/p" },
    ],
    routes: [
      {
        kind: "service.*",
        severity: ">= high",
        channels: ["phone"],
        continue: true,
        escalateAfter: "1h",
        escalateTo: ["pager"],
      },
      { kind: "service.*", channels: ["hook"] },
      { match: ["repo=~/work/.*"], channels: ["phone"], groupBy: ["alertname", "repo"] },
    ],
  });
  const r = new Router(cfg);
  const names = (labels: Record<string, string>) =>
    r.targets(labels).map((t) => `${t.route}:${t.channel}${t.escalation ? "!" : ""}`);
  assert.deepEqual(names({ alertname: "service.down", severity: "critical" }), ["r0:phone", "r0:pager!", "r1:hook"]);
  assert.deepEqual(names({ alertname: "service.down", severity: "low" }), ["r1:hook"]);
  assert.deepEqual(names({ alertname: "repo.dirty", repo: "/work/x" }), ["r2:phone"]);
  assert.deepEqual(names({ alertname: "repo.dirty", repo: "/home/x" }), [
    "default:hook",
    "default:phone",
    "default:pager",
  ]);
  assert.equal(r.targets({ alertname: "service.down", severity: "high" })[1]?.escalateAfter, 3_600_000);
  assert.deepEqual(groupLabels(["alertname", "repo"], { alertname: "a", repo: "/r", severity: "x" }), {
    alertname: "a",
    repo: "/r",
  });
  assert.deepEqual(groupLabels(["..."], { a: "1", b: "2" }), { a: "1", b: "2" });
});

test("silences end at `until`; inhibition needs a firing source with equal labels", () => {
  const now = Date.parse("2026-01-01T00:00:00Z");
  const silenced = silenceTest([{ matchers: ["repo=/a"], until: "2026-01-01T01:00:00Z" }], now);
  assert.ok(silenced({ repo: "/a" }));
  assert.ok(!silenceTest([{ matchers: ["repo=/a"], until: "2025-12-31T23:00:00Z" }], now)({ repo: "/a" }));
  const rules = [{ source: ["alertname=service.down"], target: ["alertname=service.slow"], equal: ["service"] }];
  const inhibited = inhibitTest(rules, [{ alertname: "service.down", service: "db", loop_id: "1" }]);
  assert.ok(inhibited({ alertname: "service.slow", service: "db", loop_id: "2" }));
  assert.ok(!inhibited({ alertname: "service.slow", service: "web", loop_id: "3" }));
});

test("quiet hours across midnight in a time zone, ending at the local `to`", () => {
  const q = { from: "22:00", to: "07:00", tz: "Europe/Berlin", except: ["critical" as const] };
  const at = (iso: string) => Date.parse(iso);
  assert.ok(inQuietHours(q, at("2026-01-10T21:30:00Z")), "22:30 in Berlin");
  assert.ok(!inQuietHours(q, at("2026-01-10T20:30:00Z")), "21:30 in Berlin");
  assert.equal(quietEndsAt(q, at("2026-01-10T21:30:00Z")), at("2026-01-11T06:00:00Z"));
  assert.equal(quietEndsAt(q, at("2026-07-10T21:30:00Z")), at("2026-07-11T05:00:00Z"), "summer time");
  assert.equal(quietEndsAt(q, at("2026-01-10T12:00:00Z")), null);
  assert.equal(
    quietEndsAt(q, at("2026-03-28T22:30:00Z")),
    at("2026-03-29T05:00:00Z"),
    "the night the clocks go forward",
  );
});

test("quiet ends at the first instant outside the window, within two days (property)", () => {
  const hhmm = fc
    .tuple(fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 59 }))
    .map(([h, m]) => `${String(h).padStart(2, "0")}:${String(m).padStart(2, "0")}`);
  const zones = fc.constantFrom(
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "Asia/Kolkata",
    "Australia/Lord_Howe",
    "America/Santiago",
  );
  fc.assert(
    fc.property(
      hhmm,
      hhmm,
      zones,
      fc.integer({ min: Date.parse("2026-01-01"), max: Date.parse("2027-01-01") }),
      (from, to, tz, now) => {
        const q = { from, to, tz, except: [] };
        const end = quietEndsAt(q, now);
        if (end === null) return !inQuietHours(q, now);
        // Not late either: the millisecond before it is still quiet.
        return end > now && end - now <= 48 * 3_600_000 && !inQuietHours(q, end) && inQuietHours(q, end - 1);
      },
    ),
  );
});

test("a quiet window whose end the spring-forward night skips ends when the clock jumps, or with the next window it runs into", () => {
  // New York, 2026-03-08: 02:00 EST is followed by 03:00 EDT (07:00Z).
  const jump = Date.parse("2026-03-08T07:00:00Z");
  const ends2230 = quietEndsAt(
    { from: "22:00", to: "02:30", tz: "America/New_York", except: [] },
    Date.parse("2026-03-08T04:00:00Z"),
  );
  assert.equal(ends2230, jump, "22:00-02:30 ends at the jump, not an hour early at 01:30 EST");
  // 03:00-02:00 found by a property run (fast-check counterexample): the window of the 8th starts
  // at the jump, so the quiet of the 7th runs on into it and ends at 02:00 EDT on the 9th.
  const chained = quietEndsAt({ from: "03:00", to: "02:00", tz: "America/New_York", except: [] }, 1772870400000);
  assert.equal(chained, Date.parse("2026-03-09T06:00:00Z"));
});

test("Retry-After in seconds or as a date; retry on 408, 429 and 5xx only", () => {
  const now = Date.parse("2026-01-01T00:00:00Z");
  assert.equal(parseRetryAfter("120", now), 120_000);
  assert.equal(parseRetryAfter("Thu, 01 Jan 2026 00:00:30 GMT", now), 30_000);
  assert.equal(parseRetryAfter("soon", now), undefined);
  assert.deepEqual([200, 204, 400, 401, 404, 408, 424, 425, 429, 500, 503].map(classify), [
    "ok",
    "ok",
    "fail",
    "fail",
    "fail",
    "retry",
    "retry",
    "retry",
    "retry",
    "retry",
    "retry",
  ]);
  assert.equal(retryDelay(3, 7_000, 1_000, 60_000), 7_000, "Retry-After wins over backoff");
});

test("backoff grows exponentially with jitter and stays under its cap (property)", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 50 }),
      fc.integer({ min: 1, max: 10_000 }),
      fc.double({ min: 0, max: 0.999999, noNaN: true }),
      (attempt, base, r) => {
        const d = backoffDelay(attempt, base, 300_000, () => r);
        return d >= Math.min(base / 2, 300_000) - 1 && d <= 300_000;
      },
    ),
  );
  assert.equal(
    backoffDelay(4, 1_000, 60_000, () => 1),
    8_000,
  );
});

test("templates: fields, each, if/else; missing fields render empty and are reported", () => {
  const missing: string[] = [];
  const out = render(
    "{{a}}|{{#each list}}{{@index}}:{{name}}{{nope}},{{/each}}|{{#if flag}}yes{{else}}no{{/if}}|{{deep.x}}",
    { a: 1, list: [{ name: "p" }, { name: "q" }], flag: false, deep: { x: "d" } },
    (p) => missing.push(p),
  );
  assert.equal(out, "1|0:p,1:q,|no|d");
  assert.deepEqual(missing, ["nope", "nope"]);
  assert.throws(() => parseTemplate("{{#if x}}"), /not closed/);
  assert.throws(() => parseTemplate("{{/each}}"), /closes nothing/);
});

test("rendering any template text that parses never throws (property)", () => {
  fc.assert(
    fc.property(fc.string(), (src) => {
      try {
        parseTemplate(src);
      } catch (err) {
        assert.equal((err as Error).name, "TemplateError");
        return;
      }
      render(src, { a: [1, 2], b: { c: null } });
    }),
  );
});

test("header text: ASCII as is, anything else as an RFC 2047 encoded word", () => {
  assert.equal(headerText("[FIRING:1] repo.dirty"), "[FIRING:1] repo.dirty");
  assert.equal(headerText("naïve — ok"), `=?UTF-8?B?${Buffer.from("naïve — ok").toString("base64")}?=`);
  assert.equal(headerText("a\r\nb"), "a b");
});

test("a storm renders as one summary: counts, the first few loops, and how many more", () => {
  const alerts = Array.from({ length: 50 }, (_, i) => ({
    status: "firing" as const,
    labels: { alertname: "repo.dirty", severity: "low", repo: `/r${i}` },
    annotations: { summary: `dirty ${i}` },
    startsAt: "2026-01-01T00:00:00Z",
    endsAt: "0001-01-01T00:00:00Z",
    generatorURL: "",
    fingerprint: String(i),
  }));
  const msg = {
    kind: "alerts" as const,
    receiver: "phone",
    status: "firing" as const,
    groupKey: "{}/default:{}",
    groupLabels: { alertname: "repo.dirty" },
    commonLabels: {},
    commonAnnotations: {},
    externalURL: "",
    alerts,
    catchUp: false,
    repeat: false,
    storm: true,
  };
  const { title, body } = renderText(msg, undefined, () => assert.fail("the default template uses no missing field"));
  assert.equal(title, "[FIRING:50] repo.dirty");
  assert.match(body, /^50 loops at once \(50 firing, 0 resolved\); the first 10:/);
  assert.match(body, /…and 40 more\.$/);
  assert.equal(body.match(/dirty \d+/g)?.length, 10);
});
