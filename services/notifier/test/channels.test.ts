import assert from "node:assert/strict";
import { hostname } from "node:os";
import { after, before, test } from "node:test";
import { waitFor } from "@mirror/testkit";
import { SMTPServer } from "smtp-server";
import { Harness, makeLoop } from "./harness.js";

interface Mail {
  from: string;
  to: string[];
  raw: string;
}

/** A real SMTP server on 127.0.0.1 that keeps every mail it accepts. */
async function startSmtp(): Promise<{ port: number; mails: Mail[]; close(): Promise<void> }> {
  const mails: Mail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    logger: false,
    onData(stream, session, done) {
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", () => {
        mails.push({
          from: String(session.envelope.mailFrom ? session.envelope.mailFrom.address : ""),
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString("utf8"),
        });
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
let smtp: Awaited<ReturnType<typeof startSmtp>>;
const loop = makeLoop({
  repo: "/home/me/src/app",
  severity: "high",
  triage: {
    adapter: "rules",
    model: "rules",
    severity: "high",
    summary: "3 files changed — uncommitted for 2 days",
    nextAction: "commit or stash",
    at: "2026-01-01T00:00:00.000Z",
  },
});

before(async () => {
  h = await Harness.start();
  smtp = await startSmtp();
  await h.startNotifier(
    `{ groupWait: 0s, externalURL: "http://console.local", channels: [
      { name: hook, type: webhook, url: "RECEIVERhook" },
      { name: phone, type: ntfy, url: "RECEIVERmirror-alerts", token: tk_secret, tags: [computer] },
      { name: slack, type: slack, url: "RECEIVERslack", channel: "#ops" },
      { name: discord, type: discord, url: "RECEIVERdiscord", username: Mirror },
      { name: tg, type: telegram, botToken: "123:ABC", chatId: -1001, apiUrl: "RECEIVERtg" },
      { name: gotify, type: gotify, url: "RECEIVERgotify", token: AppToken },
      { name: apprise, type: apprise, url: "RECEIVERapprise", key: mirror, tag: ops },
      { name: apprise2, type: apprise, url: "RECEIVERapprise2", urls: ["mailto://x", "tgram://y"] },
      { name: mail, type: email, host: 127.0.0.1, port: SMTP_PORT, from: "mirror@example.org", to: ["me@example.org"] } ] }`,
    { vars: { SMTP_PORT: String(smtp.port) } },
  );
  await h.publish(loop);
});

after(async () => {
  await h.stop();
  await smtp.close();
});

const req = (path: string) => h.receiver.waitFor(path, (r) => r.url === path);

test("ntfy: a publish to the topic with title, priority from severity, tags and click link", async () => {
  const r = await req("/mirror-alerts");
  assert.equal(r.method, "POST");
  assert.equal(r.headers.title, "[FIRING:1] repo.dirty");
  assert.equal(r.headers.priority, "4");
  assert.equal(r.headers.tags, "rotating_light,computer");
  assert.equal(r.headers.click, `http://console.local/loops/${loop.id}`);
  assert.equal(r.headers.authorization, "Bearer tk_secret");
  assert.match(r.body, /3 files changed — uncommitted for 2 days/);
  assert.match(r.body, /Suggested by rules \(unverified\): commit or stash/);
});

test("slack: an incoming-webhook post with mrkdwn text", async () => {
  const r = await req("/slack");
  const body = r.json as { text: string; channel: string };
  assert.equal(body.channel, "#ops");
  assert.match(body.text, /^\*\[FIRING:1\] repo\.dirty\*\n/);
  assert.match(body.text, /\/home\/me\/src\/app/);
});

test("discord: a webhook execute with one embed and mentions disabled", async () => {
  const r = await req("/discord");
  const body = r.json as {
    username: string;
    embeds: { title: string; description: string; color: number; url: string }[];
    allowed_mentions: { parse: string[] };
  };
  assert.equal(body.username, "Mirror");
  assert.equal(body.embeds[0]?.title, "[FIRING:1] repo.dirty");
  assert.equal(body.embeds[0]?.color, 0xe74c3c);
  assert.deepEqual(body.allowed_mentions.parse, []);
});

test("telegram: Bot API sendMessage with HTML parse mode", async () => {
  const r = await req("/tg/bot123:ABC/sendMessage");
  const body = r.json as { chat_id: number; text: string; parse_mode: string };
  assert.equal(body.chat_id, -1001);
  assert.equal(body.parse_mode, "HTML");
  assert.match(body.text, /^<b>\[FIRING:1\] repo\.dirty<\/b>\n/);
});

test("gotify: POST /message with the app token header and a priority", async () => {
  const r = await req("/gotify/message");
  assert.equal(r.headers["x-gotify-key"], "AppToken");
  const body = r.json as { title: string; message: string; priority: number };
  assert.equal(body.title, "[FIRING:1] repo.dirty");
  assert.equal(body.priority, 7);
});

test("apprise: stateful /notify/<key> with tag, and stateless /notify/ with urls", async () => {
  const r = await req("/apprise/notify/mirror");
  const body = r.json as { title: string; body: string; type: string; tag: string };
  assert.equal(body.type, "warning");
  assert.equal(body.tag, "ops");
  assert.equal(body.title, "[FIRING:1] repo.dirty");
  const s = await req("/apprise2/notify/");
  assert.equal((s.json as { urls: string }).urls, "mailto://x, tgram://y");
});

test("email: one mail through a real SMTP server, subject = title, Message-ID from the delivery id", async () => {
  const mail = await waitFor("a mail", () => smtp.mails[0]);
  assert.equal(mail.from, "mirror@example.org");
  assert.deepEqual(mail.to, ["me@example.org"]);
  assert.match(mail.raw, /^Subject: \[FIRING:1\] repo\.dirty/m);
  assert.match(mail.raw, /^Message-ID: <[0-9a-f]{24}@mirroros\.notifier>/m);
});

test("webhook: the Alertmanager v4 body with the triage's summary and next action", async () => {
  const r = await req("/hook");
  const body = r.json as {
    alerts: { annotations: Record<string, string>; labels: Record<string, string>; generatorURL: string }[];
    commonLabels: Record<string, string>;
  };
  assert.deepEqual(body.alerts[0]?.annotations, {
    summary: "3 files changed — uncommitted for 2 days",
    nextAction: "Suggested by rules (unverified): commit or stash",
  });
  assert.equal(body.alerts[0]?.labels.severity, "high");
  assert.equal(body.alerts[0]?.generatorURL, `http://console.local/loops/${loop.id}`);
  assert.equal(body.commonLabels.repo, "/home/me/src/app");
  for (const a of body.alerts)
    assert.deepEqual([a.labels.job, a.labels.instance], ["scanner", hostname()], "every alert has job and instance");
});

test("email: plain and HTML parts with a link to the loop; the resolved mail replies to the firing one", async () => {
  const firing = await waitFor("the firing mail", () =>
    smtp.mails.find((m) => /^X-Mirror-Status: firing/m.test(m.raw)),
  );
  assert.match(firing.raw, /^Content-Type: multipart\/alternative/m);
  assert.match(firing.raw, /^Content-Type: text\/plain/m);
  assert.match(firing.raw, /^Content-Type: text\/html/m);
  assert.ok(firing.raw.includes(`http://console.local/loops/${loop.id}`), "the firing mail links to the loop");
  assert.doesNotMatch(firing.raw, /^In-Reply-To:/m, "the first mail of a thread replies to nothing");
  const firingId = /^Message-ID: (<[^>]+>)/m.exec(firing.raw)?.[1];
  await h.publish({
    ...loop,
    status: "closed",
    rev: 2,
    closedAt: "2026-01-01T02:00:00.000Z",
    updatedAt: "2026-01-01T02:00:00.000Z",
  });
  const resolved = await waitFor("the resolved mail", () =>
    smtp.mails.find((m) => /^X-Mirror-Status: resolved/m.test(m.raw)),
  );
  assert.equal(
    /^In-Reply-To: (<[^>]+>)/m.exec(resolved.raw)?.[1],
    firingId,
    "In-Reply-To is the firing mail's Message-ID",
  );
  assert.equal(/^References: (<[^>]+>)/m.exec(resolved.raw)?.[1], firingId);
  assert.notEqual(
    /^Message-ID: (<[^>]+>)/m.exec(resolved.raw)?.[1],
    firingId,
    "the resolved mail has its own Message-ID",
  );
  assert.ok(resolved.raw.includes(`http://console.local/loops/${loop.id}`), "the resolved mail links to the loop");
  assert.match(resolved.raw, /Clean again after/);
  assert.doesNotMatch(resolved.raw, /commit or stash/, "the resolved mail drops the next action");
});
