// docs/ADDING-A-SERVICE.md as a new user does it, in a scratch copy of the workspace (so the
// tests running beside this one never see the new folder): copy services/model-rules to
// services/model-echo, give its manifest a new name and port; then `pnpm mirror services` lists
// it, `pnpm mirror identity init` makes its key and permissions, `pnpm start model-echo` runs it
// and it answers $SRV.PING; a manifest that takes model-rules' port makes both commands exit 2.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { inboxPrefixOf } from "@mirror/bus";
import {
  freePort,
  REPO_ROOT,
  type ServerHandle,
  startMesh,
  startNats,
  startRedis,
  tempDir,
  waitFor,
} from "@mirror/testkit";
import { nkeyAuthenticator } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";

let work: string;
let nats: ServerHandle | undefined;
let redis: ServerHandle | undefined;

/**
 * The workspace's sources (and each package's own node_modules links, which are relative) copied;
 * the root node_modules a folder of links to the real one's entries, except the CLI's bundle
 * cache, which the copy keeps for itself.
 */
function scratchWorkspace(): string {
  const dir = tempDir("mirror-add-service-");
  for (const f of ["package.json", "pnpm-workspace.yaml", "pnpm-lock.yaml", "tsconfig.json"])
    cpSync(join(REPO_ROOT, f), join(dir, f));
  for (const group of ["packages", "services"]) {
    for (const name of readdirSync(join(REPO_ROOT, group))) {
      cpSync(join(REPO_ROOT, group, name), join(dir, group, name), {
        recursive: true,
        verbatimSymlinks: true,
        filter: (src) => !src.endsWith("/test"),
      });
    }
  }
  mkdirSync(join(dir, "node_modules"));
  for (const entry of readdirSync(join(REPO_ROOT, "node_modules"))) {
    if (entry === ".cache") continue;
    if (entry === "@mirror")
      cpSync(join(REPO_ROOT, "node_modules", entry), join(dir, "node_modules", entry), {
        recursive: true,
        verbatimSymlinks: true,
      });
    else symlinkSync(join(REPO_ROOT, "node_modules", entry), join(dir, "node_modules", entry));
  }
  return dir;
}

/**
 * `pnpm <script> ARGS` in the scratch workspace, run as the command its package.json names for the
 * script: pnpm itself would first install the new folder (verifyDepsBeforeRun), writing through
 * the scratch node_modules' links into the real one.
 */
function scriptCommand(args: string[]): string[] {
  const [script, ...rest] = args;
  const scripts = (JSON.parse(readFileSync(join(work, "package.json"), "utf8")) as { scripts: Record<string, string> })
    .scripts;
  const line = scripts[script as string];
  assert.ok(line, `package.json has no script ${script}`);
  // The shell's `"${NAME:-default}"` expanded as sh would: passed on literally, glibc read the
  // start script's MALLOC_* thresholds as 0 and every allocation became an mmap (a minute to start).
  const expanded = line.replace(
    /"\$\{(\w+):-([^}]*)\}"/g,
    (_, name: string, dflt: string) => process.env[name] || dflt,
  );
  return [...expanded.replace(/^exec /, "").split(/\s+/), ...rest];
}

function pnpm(args: string[], env: NodeJS.ProcessEnv = {}) {
  const [cmd, ...rest] = scriptCommand(args);
  return spawnSync(cmd as string, rest, {
    cwd: work,
    encoding: "utf8",
    env: { ...process.env, MIRROR_DATA_DIR: join(work, ".mirror"), ...env },
    timeout: 180_000,
  });
}

const manifestFile = () => join(work, "services", "model-echo", "src", "manifest.ts");

before(() => {
  work = scratchWorkspace();
});
after(async () => {
  await Promise.all([nats?.dispose(), redis?.dispose()]);
  if (work) rmSync(work, { recursive: true, force: true });
});

test("a copied service folder with a new name and port is listed, gets a key and permissions, starts and answers $SRV.PING", async () => {
  const port = await freePort();
  // Step 1 and 2 of docs/ADDING-A-SERVICE.md: copy the folder, give its manifest a name and a port (its Redis
  // prefix follows the name), and rename its package.json.
  cpSync(join(work, "services", "model-rules"), join(work, "services", "model-echo"), {
    recursive: true,
    verbatimSymlinks: true,
  });
  const original = readFileSync(manifestFile(), "utf8");
  const edited = original.replace('name: "model-rules"', 'name: "model-echo"').replace("port: 9105", `port: ${port}`);
  assert.notEqual(edited, original);
  writeFileSync(manifestFile(), edited);
  const pkg = join(work, "services", "model-echo", "package.json");
  writeFileSync(pkg, readFileSync(pkg, "utf8").replace('"@mirror/model-rules"', '"@mirror/model-echo"'));

  const listed = pnpm(["mirror", "services", "--json"]);
  assert.equal(listed.status, 0, listed.stderr);
  const rows = JSON.parse(listed.stdout.slice(listed.stdout.indexOf("["))) as {
    name: string;
    port: number;
    serves: string[];
    file: string;
  }[];
  const echo = rows.find((r) => r.name === "model-echo");
  assert.ok(echo, `pnpm mirror services does not list model-echo: ${rows.map((r) => r.name).join(", ")}`);
  assert.equal(echo.port, port);
  assert.deepEqual(echo.serves, ["mirror.model.>"]);
  assert.ok(
    rows.some((r) => r.name === "model-rules"),
    "the original is still there",
  );
  const table = pnpm(["mirror", "services"]);
  assert.match(table.stdout, new RegExp(`^model-echo\\s+${port}\\s`, "m"));

  const ids = join(work, "identity");
  const init = pnpm(["mirror", "identity", "init", "--out", ids]);
  assert.equal(init.status, 0, init.stderr);
  assert.ok(existsSync(join(ids, "model-echo.nk")), "identity init wrote model-echo.nk");
  const accounts = readFileSync(join(ids, "accounts.conf"), "utf8");
  assert.match(accounts, /# model-echo\n/, "accounts.conf has a user block for model-echo");
  assert.ok(accounts.includes(`"${inboxPrefixOf("model-echo")}.>"`), "model-echo may subscribe to its own inbox");
  const table2 = JSON.parse(readFileSync(join(ids, "identities.json"), "utf8")) as { name: string; serves: string[] }[];
  assert.deepEqual(table2.find((s) => s.name === "model-echo")?.serves, ["mirror.model.>"]);

  [nats, redis] = await Promise.all([startNats({ config: accounts }), startRedis()]);
  const mesh = startMesh("", {
    command: scriptCommand(["start", "model-echo"]).map((a) => (a.startsWith("packages/") ? join(work, a) : a)),
    env: {
      MIRROR_NATS_URL: nats.url,
      MIRROR_REDIS_URL: redis.url,
      MIRROR_IDENTITY_DIR: ids,
      MIRROR_DATA_DIR: join(work, ".mirror"),
      MIRROR_LOG_FORMAT: "json",
    },
  });
  const operator = await connect({
    servers: nats.url,
    name: "operator",
    authenticator: nkeyAuthenticator(new TextEncoder().encode(readFileSync(join(ids, "operator.nk"), "utf8").trim())),
    inboxPrefix: inboxPrefixOf("operator"),
  });
  try {
    await mesh.waitForLine(/^model-echo .*"msg":"service started"/, 180_000);
    const healthz = await fetch(`http://127.0.0.1:${port}/healthz`);
    assert.equal(healthz.status, 200, "model-echo listens on its manifest's port");
    let pong: { name?: string; metadata?: Record<string, string> } | undefined;
    await waitFor(
      "model-echo answers $SRV.PING",
      async () => {
        const msg = await operator.request("$SRV.PING", undefined, { timeout: 2_000 }).catch(() => undefined);
        pong = msg?.json();
        return !!pong;
      },
      { timeout: 30_000 },
    );
    assert.equal(pong?.name, "mirror-model", "model-echo registers as a model adapter, as model-rules does");
    assert.ok(
      !mesh.output.some((l) => /MIRROR_ERR_UNDECLARED|permissions violation/i.test(l)),
      "nothing it did was refused",
    );
  } finally {
    await operator.close();
    await mesh.stop();
  }

  // A manifest that takes model-rules' port: both commands exit 2, naming the file and the field.
  writeFileSync(manifestFile(), edited.replace(`port: ${port}`, "port: 9105"));
  for (const args of [
    ["mirror", "services"],
    ["start", "model-echo"],
  ]) {
    const r = pnpm(args, { MIRROR_NATS_URL: nats.url, MIRROR_REDIS_URL: redis.url, MIRROR_IDENTITY_DIR: ids });
    assert.equal(r.status, 2, `pnpm ${args.join(" ")}: ${r.stdout}${r.stderr}`);
    // Both manifests are named: the one found second and the one whose port it takes.
    assert.match(
      r.stderr,
      /services\/model-(echo|rules)\/src\/manifest\.ts: port: 9105 is already the port of model-(echo|rules) \(services\/model-(echo|rules)\/src\/manifest\.ts\)/,
    );
    assert.ok(r.stderr.includes("services/model-echo/src/manifest.ts"));
  }
});
