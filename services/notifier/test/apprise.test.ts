// The apprise channel against the real Apprise (Debian's `apprise` package, as .ci/run installs
// it): the local `apprise` command, and an Apprise-API-compatible server built on the Apprise
// library that answers 424 when the downstream service fails, as the Apprise API does.
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import { join } from "node:path";
import { test } from "node:test";
import { freePort, tempDir, waitFor } from "@mirror/testkit";
import { Harness, makeLoop } from "./harness.js";

interface Hit {
  path: string;
  status: number;
  json: Record<string, unknown>;
  auth: string | undefined;
}

/** A downstream service Apprise posts to (its json:// plugin); `decide` picks each answer. */
async function startDownstream(decide: (req: IncomingMessage, index: number) => number | Promise<number>) {
  const hits: Hit[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", async () => {
      const status = await decide(req, hits.length);
      hits.push({
        path: req.url ?? "",
        status,
        json: JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}"),
        auth: req.headers.authorization,
      });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : 0;
  return { port, hits, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** The Python that runs the `apprise` command (its shebang): it has the Apprise library. */
function appriseRuntime(): { command: string; python: string } {
  const which = spawnSync("sh", ["-c", "command -v apprise"], { encoding: "utf8" });
  const command = which.stdout.trim();
  if (!command) assert.fail("the apprise command is not on PATH: .ci/run installs it (apt-get install apprise)");
  const shebang = /^#!\s*(\S+)/.exec(readFileSync(command, "utf8"))?.[1];
  return { command, python: shebang ?? "python3" };
}

/** The Apprise API's stateless POST /notify/ (urls, title, body, type): 200 when sent, 424 when a service failed. */
const API = `
import json, sys, apprise
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
class H(BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_POST(self):
        if self.path.rstrip("/") != "/notify":
            self.send_response(404); self.end_headers(); return
        req = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))))
        a = apprise.Apprise()
        a.add(req["urls"])
        ok = a.notify(body=req["body"], title=req.get("title", ""), notify_type=req.get("type", "info"))
        self.send_response(200 if ok else 424)
        self.send_header("content-type", "application/json"); self.end_headers()
        self.wfile.write(json.dumps({"success": bool(ok)}).encode())
ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
`;

async function startAppriseApi(python: string): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const file = join(tempDir("mirror-apprise-api-"), "api.py");
  writeFileSync(file, API);
  const child = spawn(python, [file, String(port)], { stdio: "ignore" });
  const url = `http://127.0.0.1:${port}`;
  await waitFor("the Apprise API test server", async () => (await fetch(`${url}/`).catch(() => null)) !== null, {
    timeout: 15_000,
  });
  return { url, child };
}

const triage = {
  adapter: "rules",
  model: "rules",
  severity: "high" as const,
  summary: "2 files uncommitted",
  nextAction: "Commit or stash them",
  at: "2026-01-01T00:00:00.000Z",
};

test("Apprise API answering 424 twice then 200 gets both the firing and the resolved message; resolved drops the next action", async () => {
  const { python } = appriseRuntime();
  const down = await startDownstream((_r, i) => (i < 2 ? 500 : 200));
  const api = await startAppriseApi(python);
  const h = await Harness.start();
  try {
    await h.startNotifier(
      `{ groupWait: 0s, groupInterval: 1s, backoff: 50ms, maxBackoff: 200ms, channels: [ { name: apprise, type: apprise, url: "${api.url}", urls: ["json://127.0.0.1:${down.port}/down"] } ] }`,
    );
    const loop = makeLoop({ repo: "/src/app", triage });
    await h.publish(loop);
    await waitFor(
      "the firing message, after two failures",
      () => down.hits.find((x) => x.status === 200 && /FIRING/.test(String(x.json.title))),
      { timeout: 20_000 },
    );
    await h.publish({
      ...loop,
      status: "closed",
      rev: 2,
      closedAt: "2026-01-01T01:00:00.000Z",
      updatedAt: "2026-01-01T01:00:00.000Z",
    });
    const resolved = await waitFor(
      "the resolved message",
      () => down.hits.find((x) => x.status === 200 && /RESOLVED/.test(String(x.json.title))),
      { timeout: 20_000 },
    );
    assert.deepEqual(
      down.hits.map((x) => x.status).slice(0, 2),
      [500, 500],
      "the downstream failed twice: the API answered 424 twice",
    );
    assert.match(String(resolved.json.message), /Clean again after 1h/);
    assert.doesNotMatch(String(resolved.json.message), /Commit or stash|→/);
    assert.equal(resolved.json.type, "success");
    assert.equal(down.hits.filter((x) => x.status === 200).length, 2, "each message arrived once");
  } finally {
    await h.stop();
    api.child.kill();
    await down.close();
  }
});

test("the local apprise command: URLs from a 0600 file, never on its command line; a failed service is retried", async () => {
  appriseRuntime();
  const secret = "s3cr3t-pass";
  const seen: { cmdlines: string[]; modes: number[] } = { cmdlines: [], modes: [] };
  const down = await startDownstream((_r, i) => {
    // While apprise waits for this answer, read what every local user could read of it.
    for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
      const cmdline = (() => {
        try {
          return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
        } catch {
          return [];
        }
      })();
      const at = cmdline.indexOf("-c");
      if (!cmdline.some((a) => a.endsWith("apprise")) || at < 0) continue;
      seen.cmdlines.push(cmdline.join(" "));
      seen.modes.push(statSync(cmdline[at + 1] as string).mode & 0o777);
    }
    return i === 0 ? 500 : 200;
  });
  const h = await Harness.start();
  try {
    await h.startNotifier(
      `{ groupWait: 0s, backoff: 50ms, channels: [ { name: local, type: apprise, urls: ["json://me:${secret}@127.0.0.1:${down.port}/cli"] } ] }`,
    );
    await h.publish(makeLoop({ repo: "/src/app", triage }));
    const hit = await waitFor(
      "the message through the apprise command",
      () => down.hits.find((x) => x.status === 200),
      { timeout: 30_000 },
    );
    assert.equal(hit.json.title, "[FIRING:1] repo.dirty");
    assert.match(
      String(hit.json.message),
      /2 files uncommitted\nSuggested by rules \(unverified\): Commit or stash them/,
    );
    assert.equal(hit.json.type, "warning");
    assert.equal(
      hit.auth,
      `Basic ${Buffer.from(`me:${secret}`).toString("base64")}`,
      "the URL's credentials reached the service",
    );
    assert.equal(down.hits[0]?.status, 500, "the first run failed (apprise exits 1) and was retried");
    assert.ok(seen.cmdlines.length > 0, "the running apprise command was seen");
    for (const c of seen.cmdlines)
      assert.ok(!c.includes(secret) && !c.includes("json://"), `no URL on the command line: ${c}`);
    assert.deepEqual([...new Set(seen.modes)], [0o600], "the URL file is readable by its owner only");
  } finally {
    await h.stop();
    await down.close();
  }
});

test("a missing apprise command fails for good with a message that says what to install", async () => {
  const h = await Harness.start();
  try {
    await h.startNotifier(
      `{ groupWait: 0s, backoff: 20ms, channels: [ { name: local, type: apprise, command: /nonexistent/apprise, urls: ["json://127.0.0.1:1/x"] } ] }`,
    );
    await h.publish(makeLoop());
    const line = await waitFor(
      "the failure in the log",
      () => h.logs.find((l) => typeof l.error === "string" && l.error.includes("not installed")),
      { timeout: 15_000 },
    );
    assert.match(String(line.error), /apt install apprise/);
  } finally {
    await h.stop();
  }
});
