// docker-compose.yml is checked with Debian's docker-compose (no Docker engine runs here):
// it must validate, with and without the monitoring profile, and wire every mesh service.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import { SERVICE_NAMES } from "./mesh-services.js";
import { parse } from "yaml";

const root = fileURLToPath(new URL("..", import.meta.url));

type Service = {
  build?: { args?: Record<string, string> };
  healthcheck?: { test?: string[] | string };
  restart?: string;
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition?: string }>;
  volumes?: string[];
  profiles?: string[];
  command?: string[];
};

function compose(...args: string[]): string {
  const r = spawnSync("docker-compose", ["-f", "docker-compose.yml", ...args], { cwd: root, encoding: "utf8" });
  if (r.error && (r.error as NodeJS.ErrnoException).code === "ENOENT") {
    assert.fail("docker-compose is not on PATH: .ci/run installs it (apt-get install docker-compose)");
  }
  assert.equal(r.status, 0, `docker-compose ${args.join(" ")} failed:\n${r.stderr}`);
  return r.stdout;
}

let resolved: Record<string, Service> | undefined;
/** The services of `docker-compose config` (interpolated and merged), parsed once. */
/** A real check: `healthcheck: { disable: true }` renders as test ["NONE"]. */
const healthchecked = (s?: Service) => ["CMD", "CMD-SHELL"].includes([s?.healthcheck?.test ?? []].flat()[0] ?? "");
const services = () => (resolved ??= parse(compose("config")).services as Record<string, Service>);

test("docker-compose.yml validates, with and without the monitoring profile", () => {
  compose("config", "-q");
  compose("--profile", "monitoring", "config", "-q");
});

test("every mesh service is built from the Dockerfile, healthchecked and wired to nats and redis", () => {
  for (const name of SERVICE_NAMES) {
    const s = services()[name];
    assert.ok(s, `service ${name} is missing from docker-compose.yml`);
    assert.equal(s.build?.args?.SERVICE, name, `${name}: build arg SERVICE`);
    assert.deepEqual(s.healthcheck?.test, ["CMD", "node", "/opt/mirror/healthcheck.mjs"], `${name}: healthcheck`);
    assert.equal(s.restart, "unless-stopped", `${name}: restart policy`);
    assert.equal(s.environment?.MIRROR_NATS_URL, "nats://nats:4222");
    assert.equal(s.environment?.MIRROR_REDIS_URL, "redis://redis:6379");
    assert.equal(s.environment?.MIRROR_CONFIG, "/config/mirror.yaml");
    assert.ok(
      s.volumes?.some((v) => v.endsWith(":/config/mirror.yaml:ro")),
      `${name}: mirror.yaml mount`,
    );
    for (const dep of ["nats", "redis"])
      assert.equal(s.depends_on?.[dep]?.condition, "service_healthy", `${name} -> ${dep}`);
    // Beyond loopback inside its container, so it needs the HTTP token (it refuses to start without one).
    assert.equal(s.environment?.MIRROR_HTTP_HOST, "0.0.0.0", `${name}: MIRROR_HTTP_HOST`);
    assert.equal(s.environment?.MIRROR_HTTP_TOKEN_FILE, "/run/secrets/http-token", `${name}: MIRROR_HTTP_TOKEN_FILE`);
    assert.ok(
      s.volumes?.some((v) => v.endsWith(":/run/secrets/http-token:ro")),
      `${name}: http-token mount`,
    );
  }
  assert.ok(
    services().scanner.volumes?.some((v) => v.endsWith(":/repos:ro")),
    "scanner: repo roots volume",
  );
});

test("nats runs JetStream from deploy/nats, redis persists, monitoring is a profile", () => {
  const { nats, redis, ...rest } = services();
  assert.ok(nats.volumes?.some((v) => v.includes("deploy/nats/nats-server.conf:")));
  assert.ok(
    nats.volumes?.some((v) => /:\/data(:rw)?$/.test(v)),
    "nats: JetStream data volume",
  );
  assert.ok(redis.command?.join(" ").includes("--appendonly yes"));
  for (const s of [nats, redis, rest.prometheus])
    assert.ok(healthchecked(s), "nats, redis and prometheus have healthchecks");
  for (const name of ["prometheus", "grafana"])
    assert.deepEqual(rest[name]?.profiles, ["monitoring"], `${name}: monitoring profile`);
});

test("secure by default: Redis runs the identities' users.acl, every service logs in as itself, servers pinned past their advisories", () => {
  const all = services();
  const { redis, nats } = all;
  assert.ok(redis.command?.join(" ").includes("--aclfile /etc/redis/users.acl"), "redis loads users.acl");
  assert.ok(
    redis.volumes?.some((v) => /identity\/users\.acl:\/etc\/redis\/users\.acl:ro$/.test(v)),
    "users.acl mounted read-only",
  );
  assert.ok(
    [redis.healthcheck?.test ?? []].flat().join(" ").includes("--user health"),
    "the healthcheck uses the PING-only user, not the default one",
  );
  for (const name of SERVICE_NAMES.filter((n) => all[n]))
    assert.equal(all[name]?.environment?.MIRROR_REDIS_AUTH, "identity", `${name} logs in to Redis as itself`);
  const image = (s?: Service & { image?: string }) => s?.image ?? "";
  assert.match(image(nats), /^nats:2\.(11\.(1[5-9]|[2-9]\d)|1[2-9]\.\d+)/, "nats pinned at or past 2.11.15");
  assert.match(image(redis), /^redis:(7\.4\.([6-9]|\d\d)|8\.)/, "redis pinned at or past 7.4.6");
});

test("the single profile runs every service in one `mirror` container, as itself on the bus and in Redis", () => {
  compose("--profile", "single", "config", "-q");
  const s = (
    parse(compose("--profile", "single", "config")).services as Record<
      string,
      Service & { build?: { dockerfile?: string } }
    >
  ).mirror;
  assert.ok(s, "service mirror is missing from the single profile");
  assert.deepEqual(s.profiles, ["single"], "mirror runs only with --profile single");
  assert.equal(s.build?.dockerfile, "deploy/docker/Dockerfile.single");
  assert.ok(healthchecked(s), "mirror: healthcheck");
  assert.equal(s.restart, "unless-stopped", "an uncaught error restarts the process");
  assert.equal(s.environment?.MIRROR_IDENTITY_DIR, "/identity");
  assert.equal(s.environment?.MIRROR_REDIS_AUTH, "identity", "each member logs in to Redis as itself");
  assert.ok(
    s.volumes?.some((v) => v.endsWith(":/identity:ro")),
    "every member's seed, read-only",
  );
  for (const dep of ["nats", "redis"])
    assert.equal(s.depends_on?.[dep]?.condition, "service_healthy", `mirror -> ${dep}`);
  const dockerfile = readFileSync(join(root, "deploy/docker/Dockerfile.single"), "utf8");
  assert.match(dockerfile, /^RUN pnpm mirror bundle all --out \/out\/dist$/m);
});

test("both images fix glibc's malloc thresholds as pnpm start does", () => {
  const start = (JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { scripts: Record<string, string> })
    .scripts.start as string;
  for (const name of ["MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_"]) {
    const value = new RegExp(`${name}:-(\\d+)`).exec(start)?.[1];
    assert.ok(value, `the start script sets ${name}`);
    for (const file of ["Dockerfile", "deploy/docker/Dockerfile.single"])
      assert.match(
        readFileSync(join(root, file), "utf8"),
        new RegExp(`^\\s+${name}=${value}\\b`, "m"),
        `${file}: ENV ${name}=${value}`,
      );
  }
});

test("icmp checks can ping: the tracker's image has iputils-ping and compose gives the tracker CAP_NET_RAW", () => {
  type Capable = Service & { cap_add?: string[] };
  assert.deepEqual(
    (services()["service-tracker"] as Capable | undefined)?.cap_add,
    ["NET_RAW"],
    "service-tracker: cap_add NET_RAW",
  );
  const single = (parse(compose("--profile", "single", "config")).services as Record<string, Capable>).mirror;
  assert.deepEqual(single?.cap_add, ["NET_RAW"], "mirror (single profile): cap_add NET_RAW");
  // The per-service image installs it for the tracker only; the one-container image always.
  assert.match(
    readFileSync(join(root, "Dockerfile"), "utf8"),
    /\$\(if \[ "\$SERVICE" = service-tracker \]; then echo iputils-ping; fi\)/,
  );
  assert.match(
    readFileSync(join(root, "deploy/docker/Dockerfile.single"), "utf8"),
    /apt-get install [^\n]*\biputils-ping\b/,
  );
  for (const other of SERVICE_NAMES.filter((n) => n !== "service-tracker"))
    assert.equal((services()[other] as Capable | undefined)?.cap_add, undefined, `${other}: no extra capability`);
});

test("deploy/cluster/docker-compose.yml validates: 3 clustered NATS nodes, Redis with a replica and 3 sentinels, two replicas of every service", async () => {
  const file = "deploy/cluster/docker-compose.yml";
  const run = (...args: string[]) => {
    const r = spawnSync("docker-compose", ["-f", file, ...args], { cwd: root, encoding: "utf8" });
    assert.equal(r.status, 0, `docker-compose -f ${file} ${args.join(" ")} failed:\n${r.stderr}`);
    return r.stdout;
  };
  run("config", "-q");
  const all = parse(run("config")).services as Record<string, Service & { image?: string }>;
  const nodes = ["nats-1", "nats-2", "nats-3"];
  for (const [i, name] of nodes.entries()) {
    const s = all[name];
    assert.ok(s && healthchecked(s), `${name}: present and healthchecked`);
    assert.ok(
      s.volumes?.some((v) => v.includes(`deploy/cluster/nats/nats-${i + 1}.conf:/etc/nats/nats-server.conf`)),
      `${name}: its config`,
    );
    assert.ok(
      s.volumes?.some((v) => v.endsWith("/accounts.conf:/etc/nats/accounts.conf:ro")),
      `${name}: the identities' accounts.conf`,
    );
    const conf = readFileSync(join(root, `deploy/cluster/nats/nats-${i + 1}.conf`), "utf8");
    assert.match(conf, new RegExp(`^server_name: ${name}$`, "m"));
    assert.match(conf, /jetstream \{\s*store_dir: \/data/);
    assert.match(conf, /cluster \{\s*name: mirror/);
    for (const other of nodes) assert.ok(conf.includes(`nats-route://${other}:6222`), `${name} routes to ${other}`);
    assert.match(conf, /^include "accounts.conf"$/m);
  }
  assert.ok(
    [all["redis-2"]?.command ?? []].flat().join(" ").includes("--replicaof redis-1 6379"),
    "redis-2 replicates redis-1",
  );
  for (const r of ["redis-1", "redis-2"])
    assert.ok([all[r]?.command ?? []].flat().join(" ").includes("--aclfile"), `${r}: the identities' users`);
  for (const name of ["sentinel-1", "sentinel-2", "sentinel-3"]) {
    const cmd = [all[name]?.command ?? []].flat().join(" ");
    assert.match(cmd, /sentinel monitor mirror redis-1 6379 2/, `${name} monitors the master with quorum 2`);
    assert.match(cmd, /--sentinel/);
  }
  const envOf = (s?: Service) => s?.environment ?? {};
  assert.equal(envOf(all.provision).MIRROR_BUS_REPLICAS, "3", "provision makes the streams at 3 replicas");
  for (const name of SERVICE_NAMES) {
    for (const r of [1, 2]) {
      const s = all[`${name}-${r}`];
      assert.ok(s, `${name}-${r} is missing: two replicas of every service`);
      assert.equal(s.build?.args?.SERVICE, name, `${name}-${r}: build arg SERVICE`);
      const env = envOf(s);
      assert.equal(env.MIRROR_NATS_URL?.split(",").length, 3, `${name}-${r}: bus.url lists the three nodes`);
      assert.equal(env.MIRROR_BUS_REPLICAS, "3");
      assert.equal(env.MIRROR_REDIS_SENTINELS?.split(",").length, 3, `${name}-${r}: store.sentinels`);
      assert.equal(env.MIRROR_REDIS_AUTH, "identity", `${name}-${r} logs in to Redis as itself`);
      const keys = (s.volumes ?? []).filter((v) => /\.nk:/.test(v));
      assert.deepEqual(
        keys.map((v) => v.split(":")[1]),
        [`/identity/${name}.nk`],
        `${name}-${r} mounts its own key only`,
      );
      for (const dep of ["nats-1", "nats-2", "nats-3", "redis-1"])
        assert.equal(s.depends_on?.[dep]?.condition, "service_healthy", `${name}-${r} -> ${dep}`);
      assert.ok(healthchecked(s), `${name}-${r}: healthcheck`);
    }
  }
  // What the services are told parses as the config it stands for.
  const { parseConfig } = await import("@mirror/kit");
  const c = parseConfig("", envOf(all["scanner-1"]) as NodeJS.ProcessEnv);
  assert.equal(c.bus.replicas, 3);
  assert.deepEqual(c.store.sentinels, ["sentinel-1:26379", "sentinel-2:26379", "sentinel-3:26379"]);
});

test("deploy/remote-probe/docker-compose.yml validates: a leaf node, the site's Redis, and a tracker that joins through the leaf as the site", () => {
  const file = "deploy/remote-probe/docker-compose.yml";
  const run = (...args: string[]) => {
    const r = spawnSync("docker-compose", ["-f", file, ...args], { cwd: root, encoding: "utf8" });
    assert.equal(r.status, 0, `docker-compose -f ${file} ${args.join(" ")} failed:\n${r.stderr}`);
    return r.stdout;
  };
  run("config", "-q");
  const all = parse(run("config")).services as Record<string, Service & { image?: string }>;
  assert.match(all["nats-leaf"]?.image ?? "", /^nats:2\.11\.15/, "the leaf node is pinned past the advisories");
  assert.ok(
    all["nats-leaf"]?.volumes?.some((v) => v.endsWith("/leaf.conf:/etc/nats/leaf.conf:ro")),
    "its leaf.conf",
  );
  const tracker = all["service-tracker"];
  assert.equal(tracker?.build?.args?.SERVICE, "service-tracker");
  assert.equal(tracker?.environment?.MIRROR_NATS_URL, "nats://nats-leaf:4222", "the tracker connects to the leaf");
  assert.equal(tracker?.environment?.MIRROR_IDENTITY_DIR, "/site", "as the site's identity");
  assert.ok(
    !Object.keys(all).some((n) => n !== "service-tracker" && SERVICE_NAMES.includes(n)),
    "only the tracker runs at a site",
  );
});
