// The pieces that keep the console safe, without a mesh: escaping by construction, the login
// redirect that never leaves the site, password hashes, the CSRF comparison.
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { csrfMatches, safeNext, ssoUser } from "../src/auth.js";
import { html, raw } from "../src/html.js";
import { ConsoleError } from "../src/errors.js";
import { LiveHub, resyncFrame, sseFrame } from "../src/live.js";
import { LiveFeeds } from "../src/live-feed.js";
import { ManualClock } from "@mirror/kit";
import { loopFilter } from "../src/pages/loops.js";
import { hashPassword, verifyPassword } from "../src/passwords.js";
import { snoozeFor } from "../src/routes-api.js";

test("html escapes every interpolated value, in text and in attributes; only raw() and nested html pass as markup", () => {
  const name = "<img src=x onerror=alert(1)>";
  const out = html`<td title="${name}">${name}</td>${html`<b>${"&"}</b>`}${raw("<hr>")}`.text;
  assert.equal(
    out,
    '<td title="&lt;img src=x onerror=alert(1)&gt;">&lt;img src=x onerror=alert(1)&gt;</td><b>&amp;</b><hr>',
  );
  fc.assert(
    fc.property(fc.string(), (s) => {
      const text = html`<p a="${s}">${s}</p>`.text;
      // Nothing in the value can open a tag or close the attribute: the markup stays exactly this shape.
      assert.match(text, /^<p a="[^<>"'`]*">[^<>"'`]*<\/p>$/);
    }),
  );
  assert.equal(html`${[1, "<", null, undefined, false]}`.text, "1&lt;");
});

test("after login only a path of this site is followed: no other origin, no //host, no /\\host", () => {
  assert.equal(safeNext("/loops/abc?x=1"), "/loops/abc?x=1");
  for (const bad of [
    "https://evil.example/",
    "//evil.example/",
    "/\\evil.example",
    "javascript:alert(1)",
    "",
    undefined,
    42,
    "/login?next=/x",
    "/a\nb",
  ]) {
    assert.equal(safeNext(bad), "/", String(bad));
  }
  fc.assert(
    fc.property(fc.string(), (s) => {
      const n = safeNext(s);
      assert.ok(n === "/" || (n.startsWith("/") && !n.startsWith("//") && !n.includes("\\")));
    }),
  );
});

test("passwords are scrypt hashes, salted; a wrong password, an unknown user and a broken hash are all false", async () => {
  const a = await hashPassword("correct horse");
  const b = await hashPassword("correct horse");
  assert.match(a, /^scrypt\$16384\$8\$1\$/);
  assert.notEqual(a, b, "salted");
  assert.ok(!a.includes("correct horse"));
  assert.equal(await verifyPassword("correct horse", a), true);
  assert.equal(await verifyPassword("wrong", a), false);
  assert.equal(await verifyPassword("correct horse", undefined), false);
  assert.equal(await verifyPassword("x", "plain"), false);
});

test("the CSRF token must be given and equal", () => {
  assert.equal(csrfMatches("abc", "abc"), true);
  assert.equal(csrfMatches("abd", "abc"), false);
  assert.equal(csrfMatches(undefined, "abc"), false);
  assert.equal(csrfMatches("", "abc"), false);
  assert.equal(csrfMatches(["abc"], "abc"), false);
});

test("the SSO header is believed only from a trusted proxy", () => {
  const req = (addr: string, user?: string) =>
    ({ socket: { remoteAddress: addr }, headers: user ? { "remote-user": user } : {} }) as never;
  const sso = { header: "Remote-User", proxies: ["10.0.0.2"] };
  assert.equal(ssoUser(req("10.0.0.2", "alice"), sso), "alice");
  assert.equal(ssoUser(req("::ffff:10.0.0.2", "alice"), sso), "alice");
  assert.equal(ssoUser(req("10.0.0.3", "alice"), sso), undefined);
  assert.equal(ssoUser(req("10.0.0.2"), sso), undefined);
  assert.equal(ssoUser(req("10.0.0.2", "alice"), undefined), undefined);
});

test("the live hub numbers events itself, drops duplicates by key, and replays only what is after Last-Event-ID", () => {
  const hub = new LiveHub(3, () => 1_000);
  const seen: number[] = [];
  hub.subscribe((e) => seen.push(e.id));
  for (const id of [5, 3, 7, 5]) hub.publish({ id, kind: "service", name: "web", state: "up" });
  assert.deepEqual(seen, [1_000_001, 1_000_002, 1_000_003], "a duplicate is not sent twice");
  hub.publish({ kind: "notify", channel: "hook", outcome: "sent" }, "ce:a");
  hub.publish({ kind: "notify", channel: "hook", outcome: "sent" }, "ce:a");
  assert.deepEqual(hub.published, { loop: 0, service: 3, notify: 1 });
  assert.deepEqual(
    hub.since(1_000_002).map((e) => e.id),
    [1_000_003, 1_000_004],
  );
  assert.equal(hub.complete(1_000_002), true);
  assert.equal(hub.complete(1_000_000), false, "the oldest event fell out of the buffer: not complete");
  assert.equal(hub.complete(999_000), false, "an id from an earlier run of the console");
  assert.equal(hub.complete(2_000_000), false, "an id from a later run (another clock)");
  hub.gap();
  assert.equal(hub.complete(1_000_004), false, "a feed restarted after it: events may have gone unseen");
  assert.equal(hub.complete(hub.position), true);
  hub.publish({ kind: "loop", type: "opened", loopId: "l", status: "open" }, "ce:b");
  assert.deepEqual(
    hub.since(0).map((e) => e.id),
    [1_000_003, 1_000_004, 1_000_006],
    "only the newest are kept",
  );
  assert.match(
    sseFrame({ id: 9, kind: "loop", type: "opened", loopId: "l", status: "open" }),
    /^id: 9\nevent: loop\ndata: \{.*\}\n\n$/,
  );
});

test("query and body parsers never throw on any input, and only ever pass on what they understand", () => {
  fc.assert(
    fc.property(
      fc.dictionary(
        fc.constantFrom("status", "kind", "severity", "q", "x"),
        fc.oneof(fc.string(), fc.integer(), fc.array(fc.string()), fc.constant(null)),
      ),
      (query) => {
        const f = loopFilter(query);
        assert.ok(
          ["active", "open", "acknowledged", "snoozed", "suppressed", "maintenance", "closed", "all"].includes(
            f.status,
          ),
        );
        assert.ok(f.severity === undefined || ["critical", "high", "medium", "low", "info"].includes(f.severity));
        assert.ok((f.q ?? "").length <= 200 && (f.kind ?? "").length <= 200);
      },
    ),
  );
  fc.assert(
    fc.property(fc.anything(), (body) => {
      try {
        const d = snoozeFor(body);
        assert.ok(typeof d === "string" && d.length > 0);
      } catch (err) {
        assert.ok(err instanceof ConsoleError && err.status === 400);
      }
    }),
  );
  assert.equal(snoozeFor({ for: "4h" }), "4h");
  assert.equal(snoozeFor(undefined), "1h");
  assert.throws(() => snoozeFor({ for: "0s" }), ConsoleError);
});

test("the live feeds run only while a page watches, and stop 30 s after the last one left", () => {
  const clock = new ManualClock();
  const hub = new LiveHub(10, () => clock.now());
  const log: string[] = [];
  const feed = { start: () => log.push("start"), stop: () => log.push("stop") };
  const feeds = new LiveFeeds({ hub, feeds: [feed], now: () => clock.now() });
  assert.equal(feeds.running, false, "nobody watches: no feed");
  const first = hub.subscribe(() => {});
  assert.deepEqual(log, ["start"]);
  assert.equal(hub.complete(hub.position), true);
  const second = hub.subscribe(() => {});
  first();
  second();
  second();
  clock.advance(29_000);
  feeds.sweep();
  assert.deepEqual(log, ["start"], "within the grace period the feeds keep running");
  const back = hub.subscribe(() => {});
  clock.advance(60_000);
  feeds.sweep();
  assert.deepEqual(log, ["start"], "a page came back: the grace period no longer counts");
  back();
  clock.advance(30_000);
  feeds.sweep();
  assert.deepEqual(log, ["start", "stop"]);
  assert.equal(feeds.running, false);
  const before = hub.position;
  const again = hub.subscribe(() => {});
  assert.deepEqual(log, ["start", "stop", "start"]);
  assert.equal(hub.complete(before), false, "a page from before the restart is told to fetch its content again");
  again();
  feeds.stop();
  assert.deepEqual(log, ["start", "stop", "start", "stop"]);
  assert.match(resyncFrame(7), /^id: 7\nevent: resync\ndata: \{\}\n\n$/);
});
