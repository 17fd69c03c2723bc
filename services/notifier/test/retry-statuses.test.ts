// A resolved message is never lost to a receiver that is briefly down: for every channel type,
// each "later" answer (408, 424 from the Apprise API, 425, 429, 5xx; SMTP 4xx for email) is
// retried, Retry-After is honoured, and the message arrives once the receiver recovers.
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { after, before, test } from "node:test";
import { waitFor } from "@mirror/testkit";
import { SMTPServer } from "smtp-server";
import { Harness, makeLoop } from "./harness.js";

const STATUSES = [408, 424, 425, 429, 500, 502, 503, 504] as const;
/** The 429 answer asks for this wait, far more than the configured backoff. */
const RETRY_AFTER_S = 1;

interface Seen {
  path: string;
  body: string;
  status: number;
  at: number;
}

/** A receiver that fails the first resolved message of repo `/src/s<status>` with <status>, on every path. */
async function startFlaky(): Promise<{ url: string; seen: Seen[]; close(): Promise<void> }> {
  const seen: Seen[] = [];
  const failed = new Set<string>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      // ntfy carries the title ([FIRING:1] / [RESOLVED]) in a header.
      const body = `${req.headers.title ?? ""}\n${Buffer.concat(chunks).toString("utf8")}`;
      const path = (req.url ?? "").replace(/\?.*/, "");
      const wanted = /resolved/i.test(body) ? STATUSES.find((s) => body.includes(`/src/s${s}`)) : undefined;
      const key = `${path} ${wanted}`;
      const status = wanted && !failed.has(key) ? wanted : 200;
      if (status !== 200) failed.add(key);
      seen.push({ path, body, status, at: Date.now() });
      const headers: Record<string, string> = { "content-type": "application/json" };
      if (status === 429) headers["retry-after"] = String(RETRY_AFTER_S);
      res.writeHead(status, headers);
      res.end(JSON.stringify(status === 200 ? { ok: true, result: {} } : { error: "try later" }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A real SMTP server that answers 451 to the first resolved mail, then accepts. */
async function startFlakySmtp(): Promise<{
  port: number;
  mails: { raw: string; status: number }[];
  close(): Promise<void>;
}> {
  const mails: { raw: string; status: number }[] = [];
  let failedOnce = false;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    logger: false,
    onData(stream, _session, done) {
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", () => {
        const raw = Buffer.concat(chunks).toString("utf8");
        if (/^X-Mirror-Status: resolved/m.test(raw) && !failedOnce) {
          failedOnce = true;
          mails.push({ raw, status: 451 });
          done(Object.assign(new Error("mailbox busy, try later"), { responseCode: 451 }));
          return;
        }
        mails.push({ raw, status: 250 });
        done();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const addr = server.server.address();
  const port = typeof addr === "object" && addr ? addr.port : 0;
  return { port, mails, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

let h: Harness;
let flaky: Awaited<ReturnType<typeof startFlaky>>;
let smtp: Awaited<ReturnType<typeof startFlakySmtp>>;

/** Every HTTP channel type, each on its own path of the flaky receiver. */
const PATHS: Record<string, string> = {
  webhook: "/hook",
  ntfy: "/ntfy-topic",
  slack: "/slack",
  discord: "/discord",
  telegram: "/tg/bot1:T/sendMessage",
  gotify: "/gotify/message",
  apprise: "/apprise/notify/mirror",
};

before(async () => {
  [h, flaky, smtp] = await Promise.all([Harness.start(), startFlaky(), startFlakySmtp()]);
  const F = flaky.url;
  await h.startNotifier(
    `{ groupWait: 0s, groupInterval: 1s, groupBy: [alertname, repo], backoff: 20ms, maxBackoff: 100ms, maxAttempts: 5, channels: [
      { name: webhook, type: webhook, url: "${F}/hook" },
      { name: ntfy, type: ntfy, url: "${F}/ntfy-topic" },
      { name: slack, type: slack, url: "${F}/slack" },
      { name: discord, type: discord, url: "${F}/discord" },
      { name: telegram, type: telegram, botToken: "1:T", chatId: 1, apiUrl: "${F}/tg" },
      { name: gotify, type: gotify, url: "${F}/gotify", token: t },
      { name: apprise, type: apprise, url: "${F}/apprise", key: mirror },
      { name: mail, type: email, host: 127.0.0.1, port: ${smtp.port}, from: "m@example.org", to: ["me@example.org"] } ] }`,
  );
});

after(async () => {
  await h.stop();
  await Promise.all([flaky.close(), smtp.close()]);
});

test("a resolved message answered 408, 424, 425, 429 or 5xx is delivered on every channel once the receiver recovers", async () => {
  const loops = STATUSES.map((s) => makeLoop({ repo: `/src/s${s}` }));
  for (const l of loops) await h.publish(l);
  const delivered = (path: string, s: number, what: RegExp) =>
    flaky.seen.find((r) => r.path === path && r.status === 200 && r.body.includes(`/src/s${s}`) && what.test(r.body));
  await waitFor(
    "every firing message on every path",
    () => STATUSES.every((s) => Object.values(PATHS).every((p) => delivered(p, s, /firing/i))),
    { timeout: 20_000 },
  );
  for (const l of loops)
    await h.publish({
      ...l,
      status: "closed",
      rev: 2,
      closedAt: "2026-01-01T01:00:00.000Z",
      updatedAt: "2026-01-01T01:00:00.000Z",
    });
  await waitFor(
    "every resolved message delivered after its failure",
    () => STATUSES.every((s) => Object.values(PATHS).every((p) => delivered(p, s, /resolved/i))),
    { timeout: 30_000 },
  );
  for (const s of STATUSES) {
    for (const p of Object.values(PATHS)) {
      const failures = flaky.seen.filter((r) => r.path === p && r.status === s);
      assert.equal(failures.length, 1, `${p} answered ${s} once`);
      const ok = flaky.seen.filter(
        (r) => r.path === p && r.status === 200 && r.body.includes(`/src/s${s}`) && /resolved/i.test(r.body),
      );
      assert.equal(ok.length, 1, `${p}: the resolved message of /src/s${s} arrived exactly once`);
      if (s === 429)
        assert.ok(
          (ok[0]?.at ?? 0) - (failures[0]?.at ?? 0) >= RETRY_AFTER_S * 1000 - 50,
          `${p}: Retry-After ${RETRY_AFTER_S}s was honoured`,
        );
    }
  }
});

test("email: a resolved mail refused with SMTP 451 is delivered once the server accepts", async () => {
  await waitFor(
    "the refused and then accepted resolved mails",
    () =>
      smtp.mails.some((m) => m.status === 451) &&
      smtp.mails.filter((m) => m.status === 250 && /^X-Mirror-Status: resolved/m.test(m.raw)).length >= STATUSES.length,
    { timeout: 30_000 },
  );
  const refused = smtp.mails.find((m) => m.status === 451)?.raw ?? "";
  const id = /^Message-ID: (<[^>]+>)/m.exec(refused)?.[1];
  assert.ok(id, "the refused mail has a Message-ID");
  assert.equal(
    smtp.mails.filter((m) => m.status === 250 && m.raw.includes(`Message-ID: ${id}`)).length,
    1,
    "the same mail (same Message-ID) was accepted once on retry",
  );
});
