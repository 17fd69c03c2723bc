// Issue 21's first run at the terminal: once every service is ready, `pnpm start` prints one
// summary (console URL, services ready, repositories the scanner found over the bus, checks and
// channels configured, the first admin's setup link, a warning when no channel is configured). Not
// on a terminal the services' lines stay JSON and the summary is one JSON record; with
// MIRROR_LOG_FORMAT=pretty they are pino-pretty's human lines and the summary is text.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { makeRepo, type Mesh, REPO_ROOT, startMesh, tempDir } from "@mirror/testkit";
import { listenablePort } from "./faults-kit/mesh.js";

const NAMES = ["scanner", "console"];

/** Two repositories under one root, one HTTP check, embedded servers on free ports; `extra` YAML appended. */
async function meshWith(extra: string, env: NodeJS.ProcessEnv = {}): Promise<{ mesh: Mesh; consoleUrl: string }> {
  const [natsPort, redisPort, consolePort] = [await listenablePort(), await listenablePort(), await listenablePort()];
  const root = tempDir("mirror-summary-");
  makeRepo(join(root, "one"));
  makeRepo(join(root, "two"));
  const consoleUrl = `http://127.0.0.1:${consolePort}`;
  const yaml = `bus: { url: "nats://127.0.0.1:${natsPort}" }
store: { url: "redis://127.0.0.1:${redisPort}" }
scanner: { port: 0, roots: [ "${root}" ] }
tracker: { checks: [ { name: web, http: { url: "http://127.0.0.1:1/" } } ] }
console: { port: ${consolePort}, publicUrl: "${consoleUrl}" }
${extra}`;
  // Empty overrides: nothing listens at this mirror.yaml's URLs, so pnpm start embeds both servers (identity on).
  const mesh = startMesh(yaml, {
    names: NAMES,
    env: { MIRROR_NATS_URL: "", MIRROR_REDIS_URL: "", MIRROR_IDENTITY_DIR: "", MIRROR_IDENTITY: "", ...env },
  });
  return { mesh, consoleUrl };
}

const parse = (line: string): Record<string, unknown> | undefined => {
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
};
// A forced pretty output off a terminal has no colours, unless the environment forces them.
const plain = (line: string) => line.replace(/\u001b\[[0-9;]*m/g, "");

test("not on a terminal: JSON lines as before, then one `mesh ready` record with the summary's fields and the no-channel warning", {
  timeout: 300_000,
}, async () => {
  const { mesh, consoleUrl } = await meshWith("", { MIRROR_LOG_FORMAT: "" });
  try {
    const line = await mesh.waitForLine(/^\{.*"msg":"mesh ready"/, 240_000);
    const record = parse(line);
    assert.ok(record, line);
    const setupLine = mesh.output.find((l) => /^console\s*\| \{.*"setupUrl"/.test(l));
    assert.ok(setupLine, "the console logged its setup link");
    const setupUrl = (parse(setupLine.replace(/^console\s*\| /, "")) as { setupUrl: string }).setupUrl;
    assert.match(setupUrl, new RegExp(`^${consoleUrl}/setup\\?token=[\\w-]+$`));
    assert.deepEqual(
      { ...record, time: undefined },
      {
        level: "warn",
        time: undefined,
        service: "mirror",
        consoleUrl,
        servicesReady: 2,
        servicesTotal: 2,
        notReady: [],
        repositories: 2,
        checks: 1,
        channels: 0,
        setupUrl,
        warning:
          "no notification channel is configured: nothing will reach you (add one under notifier.channels in mirror.yaml)",
        msg: "mesh ready",
      },
    );
    // After both services said they started, and once only.
    const at = mesh.output.indexOf(line);
    for (const name of NAMES)
      assert.ok(
        mesh.output.findIndex((l) => new RegExp(`^${name}\\s*\\| \\{.*"msg":"service started"`).test(l)) < at,
        `${name} started before the summary`,
      );
    assert.equal(mesh.output.filter((l) => l.includes('"msg":"mesh ready"')).length, 1);
    // The services' lines are the JSON they wrote, behind the name.
    const serviceLines = mesh.output.filter((l) => /^(scanner|console)\s*\| /.test(l));
    assert.ok(serviceLines.length > 4);
    for (const l of serviceLines) assert.ok(parse(l.replace(/^\S+\s*\| /, "")), `not JSON: ${l}`);
  } finally {
    await mesh.stop();
  }
});

test("MIRROR_LOG_FORMAT=pretty: pino-pretty's lines with their fields, and the summary as text without the warning when a channel is configured", {
  timeout: 300_000,
}, async () => {
  const { mesh, consoleUrl } = await meshWith(
    `notifier: { channels: [ { name: hook, type: webhook, url: "http://127.0.0.1:1/" } ] }\n`,
    { MIRROR_LOG_FORMAT: "pretty" },
  );
  try {
    await mesh.waitForLine(/^mirror: the mesh is ready$/, 240_000);
    await mesh.waitForLine(/^ {2}channels/, 10_000);
    const out = mesh.output.map(plain);
    const serviceLines = out.filter((l) => /^(scanner|console)\s*\| /.test(l));
    assert.deepEqual(
      serviceLines.filter((l) => /^\S+\s*\| \{/.test(l)),
      [],
      "no JSON line from a service",
    );
    // A human line: time of day, level, message, and the record's other fields kept.
    assert.ok(
      out.some((l) => /^scanner\s*\| \[\d\d:\d\d:\d\d\.\d{3}\] INFO: service started$/.test(l)),
      serviceLines.join("\n"),
    );
    const listening = out.find((l) => /^console\s*\| \[[\d:.]+\] INFO: http listening \{.*\}$/.test(l));
    assert.ok(listening, "http listening with its fields");
    assert.equal(
      (JSON.parse(listening.slice(listening.indexOf("{"))) as { port: number }).port,
      Number(new URL(consoleUrl).port),
    );
    const at = out.indexOf("mirror: the mesh is ready");
    const block = out.slice(at, at + 8).join("\n");
    assert.match(block, new RegExp(`^ {2}console +${consoleUrl}$`, "m"));
    assert.match(block, /^ {2}services +2\/2 ready$/m);
    assert.match(block, /^ {2}repositories +2 found$/m);
    assert.match(block, /^ {2}checks +1 configured$/m);
    assert.match(block, /^ {2}channels +1 configured$/m);
    assert.match(block, new RegExp(`^ {2}first admin +open ${consoleUrl}/setup\\?token=[\\w-]+ within an hour`, "m"));
    assert.ok(!out.some((l) => l.includes("nothing will reach you")), "no warning with a channel");
  } finally {
    await mesh.stop();
  }
});

test("MIRROR_LOG_FORMAT must be json or pretty: anything else stops pnpm start before it starts anything", {
  timeout: 120_000,
}, () => {
  const r = spawnSync("pnpm", ["start"], {
    cwd: REPO_ROOT,
    env: { ...process.env, MIRROR_LOG_FORMAT: "fancy", MIRROR_CONFIG: join(tempDir("mirror-format-"), "none.yaml") },
    encoding: "utf8",
  });
  assert.equal(r.status, 2, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stderr, /MIRROR_LOG_FORMAT must be "json" or "pretty", not "fancy"/);
});

test("pnpm start --single --isolated is refused with exit 2, before it starts anything", { timeout: 120_000 }, () => {
  const r = spawnSync("pnpm", ["start", "--single", "--isolated"], {
    cwd: REPO_ROOT,
    env: { ...process.env, MIRROR_CONFIG: join(tempDir("mirror-both-"), "none.yaml") },
    encoding: "utf8",
  });
  assert.equal(r.status, 2, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stderr, /--single runs every service in one process, --isolated each in its own: choose one/);
  assert.ok(!r.stdout.includes("starting"), r.stdout);
});

test("the resident `pnpm start` process does not load pino-pretty for JSON output: only a dynamic import reaches it", () => {
  const cache = join(REPO_ROOT, "node_modules", ".cache", "mirror");
  const stamp = JSON.parse(readFileSync(join(cache, "cli.json"), "utf8")) as { dir: string };
  const dir = join(cache, stamp.dir);
  const staticImports = (file: string) =>
    [
      ...readFileSync(file, "utf8").matchAll(/^\s*import\s[^()]*?from\s*"(\.\/[^"]+)"|^\s*import\s*"(\.\/[^"]+)"/gm),
    ].map((m) => join(dirname(file), (m[1] ?? m[2]) as string));
  const seen = new Set<string>();
  const walk = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const next of staticImports(file)) walk(next);
  };
  walk(join(dir, "start.mjs"));
  assert.ok(seen.size > 1, "start.mjs imports its chunks");
  // colorizerFactory: a name of pino-pretty's own source, not of ours.
  const loaded = [...seen].filter((f) => readFileSync(f, "utf8").includes("colorizerFactory"));
  assert.deepEqual(loaded, [], "pino-pretty is in a chunk start.mjs loads at startup");
  // ...and it is there, behind the dynamic import that only pretty output takes.
  const all = [...seen].map((f) => readFileSync(f, "utf8")).join("\n");
  const lazy = /import\("\.\/(pino-pretty-[^"]+)"\)/.exec(all)?.[1];
  assert.ok(lazy && existsSync(join(dir, lazy)), "a dynamic import of the pino-pretty chunk");
});
