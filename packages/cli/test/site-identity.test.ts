// `pnpm mirror identity add-site`: a remote probe site's identity through a real leaf node
// nats-server started from the generated leaf.conf, joined to a hub started from the generated
// accounts.conf: the site may publish the statuses of its own checks (stored by the hub's
// JetStream across the leaf connection), and the server refuses a status of a check that does
// not run at the site.
import assert from "node:assert/strict";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { Bus, IdentitySpec } from "@mirror/bus";
import { type ServiceStatus, serviceStatus } from "@mirror/contracts";
import { connectBus, createLogger, parseConfig } from "@mirror/kit";
import { freePort, type ServerHandle, startNats, startNatsLeaf, tempDir } from "@mirror/testkit";
import { run } from "../src/commands/identity.js";
import { provisionAsOperator } from "../src/identity/provision.js";

const silent = createLogger("test", { write: () => true } as never, "silent");
let hub: ServerHandle;
let leaf: ServerHandle;
let dir: string;
let out = "";

const quiet = async <T>(f: () => Promise<T>) => {
  const write = process.stdout.write;
  process.stdout.write = ((s: string) => void (out += s)) as never;
  try {
    return await f();
  } finally {
    process.stdout.write = write;
  }
};

before(async () => {
  const root = tempDir("mirror-site-id-");
  dir = join(root, "id");
  const yaml = join(root, "mirror.yaml");
  writeFileSync(
    yaml,
    `tracker:
  sites: [home, office]
  checks:
    - { name: web, http: { url: "http://127.0.0.1:1/" } }
    - { name: nas, sites: [home], http: { url: "http://127.0.0.1:1/" } }
`,
  );
  assert.equal(await quiet(() => run(["init", "--out", dir], {})), 0);
  const leafPort = await freePort();
  const env = { MIRROR_CONFIG: yaml };
  assert.equal(await quiet(() => run(["add-site", "office", "--dir", dir, "--hub", `127.0.0.1:${leafPort}`], env)), 0);
  const password = readFileSync(join(dir, "site-office", "leaf-password"), "utf8").trim();
  hub = await startNats({
    config: `${readFileSync(join(dir, "accounts.conf"), "utf8")}
leafnodes { listen: "127.0.0.1:${leafPort}", authorization { users: [ { user: "site-office", password: "${password}", account: "MIRROR" } ] } }
`,
  });
  const table = JSON.parse(readFileSync(join(dir, "identities.json"), "utf8")) as IdentitySpec[];
  await provisionAsOperator(
    parseConfig(`bus: { url: "${hub.url}", identityDir: "${dir}" }`, {}, "(test)"),
    join(dir, "operator.nk"),
    table,
  );
  leaf = await startNatsLeaf({ leafPort }, { config: readFileSync(join(dir, "site-office", "leaf.conf"), "utf8") });
});

after(async () => {
  await leaf?.dispose();
  await hub?.dispose();
});

function status(name: string): ServiceStatus {
  const now = new Date().toISOString();
  return {
    name,
    kind: "http",
    state: "up",
    observedAt: now,
    seq: Date.now(),
    since: now,
    latencyMs: 1,
    reason: null,
    failedConditions: [],
    heartbeat: null,
    cert: null,
    dependsOn: [],
    details: {},
    site: "office",
  };
}

test("add-site: the site's identity may publish only its checks' statuses, through its leaf node", async () => {
  assert.match(out, /site-office U[A-Z2-7]{55}: may publish mirror\.service\.status\.web\n/);
  const site = join(dir, "site-office");
  assert.equal(statSync(join(site, "site-office.nk")).mode & 0o777, 0o600);
  const table = JSON.parse(readFileSync(join(dir, "identities.json"), "utf8")) as IdentitySpec[];
  assert.deepEqual(
    table.find((s) => s.name === "site-office")?.publishes,
    ["mirror.service.status.web"],
    "the hub's table knows what the site may say (the consumers' signature check)",
  );
  const config = parseConfig(`bus: { url: "${leaf.url}", identityDir: "${site}" }`, {}, "(test)");
  const bus: Bus = await connectBus("site-office", { config, env: {}, log: silent, noProvisioning: true });
  try {
    // Acked by the hub's stream, across the leaf connection.
    await bus.publish(serviceStatus, "web", status("web"), { id: `status:web@office:${Date.now()}` });
    await assert.rejects(bus.publish(serviceStatus, "nas", status("nas"), { id: `status:nas@office:${Date.now()}` }), {
      code: "MIRROR_ERR_PERMISSION",
    });
  } finally {
    await bus.close();
  }
});

test("add-site refuses a site that mirror.yaml does not list", async () => {
  const root = tempDir("mirror-site-id-");
  const yaml = join(root, "mirror.yaml");
  writeFileSync(yaml, "tracker: { sites: [home], checks: [] }\n");
  const err = process.stderr.write;
  let text = "";
  process.stderr.write = ((s: string) => void (text += s)) as never;
  try {
    assert.equal(await run(["add-site", "attic", "--dir", dir], { MIRROR_CONFIG: yaml }), 2);
  } finally {
    process.stderr.write = err;
  }
  assert.match(text, /site "attic" is not one of tracker.sites \(home\)/);
});
