// The deploy files against the manifests (services/*/src/manifest.ts), the one list of the mesh:
// docker-compose.yml runs every service `pnpm start` runs (and only manifests' services), each
// with its key, the public keys and the identity table; Prometheus scrapes each on its manifest's
// port; every manifest's config section and default port are the config schema's.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { MirrorConfig } from "@mirror/contracts";
import { REPO_ROOT } from "@mirror/testkit";
import { parse } from "yaml";
import { MANIFESTS, SERVICE_NAMES } from "./mesh-services.js";

type Service = { profiles?: string[]; build?: { args?: Record<string, string> }; volumes?: string[] };
type StaticConfig = { targets: string[]; labels?: Record<string, string> };

const compose = parse(readFileSync(join(REPO_ROOT, "docker-compose.yml"), "utf8"), { merge: true }) as {
  services: Record<string, Service>;
};
const promText = readFileSync(join(REPO_ROOT, "deploy/prometheus/prometheus.yml"), "utf8");
const prom = parse(promText) as { scrape_configs: { job_name: string; static_configs?: StaticConfig[] }[] };

test("docker-compose.yml runs exactly the manifests' services: the default ones always, the opt-in ones behind a profile", () => {
  const built = Object.entries(compose.services).filter(
    ([, s]) => s.build?.args?.SERVICE && s.build.args.SERVICE !== "cli",
  );
  for (const [name, s] of built) {
    const m = MANIFESTS.find((x) => x.name === s.build?.args?.SERVICE);
    assert.ok(
      m,
      `compose service ${name} builds ${s.build?.args?.SERVICE}, which has no services/<name>/src/manifest.ts`,
    );
    assert.equal(name, m.name, `the compose service of ${m.name} is named after it`);
    if (m.startsByDefault)
      assert.equal(s.profiles, undefined, `${name} starts with a bare \`docker compose up\`, as with pnpm start`);
    else assert.ok(s.profiles?.length, `${name} is opt-in in its manifest, so it needs a compose profile`);
  }
  for (const name of SERVICE_NAMES)
    assert.ok(
      compose.services[name]?.build?.args?.SERVICE === name,
      `${name} (manifest) has no service in docker-compose.yml`,
    );
});

test("each compose service mounts its own key, the public keys and the identity table, and nobody else's key", () => {
  for (const m of MANIFESTS) {
    const s = compose.services[m.name];
    if (!s) continue;
    const targets = (s.volumes ?? []).map((v) => v.replace(/\$\{[^}]*\}/g, "VAR").split(":")[1]);
    for (const file of [`${m.name}.nk`, "public-keys.json", "identities.json"])
      assert.ok(targets.includes(`/identity/${file}`), `${m.name} mounts /identity/${file}`);
    assert.deepEqual(
      targets.filter((t) => t?.endsWith(".nk")),
      [`/identity/${m.name}.nk`],
      `${m.name} mounts only its own seed`,
    );
  }
  const provision = (compose.services.provision?.volumes ?? []).map(
    (v) => v.replace(/\$\{[^}]*\}/g, "VAR").split(":")[1],
  );
  assert.ok(
    provision.includes("/identity/identities.json"),
    "the provision container provisions the consumers of identities.json",
  );
});

test("Prometheus scrapes every default service on its manifest's port (the opt-in ones are there to uncomment)", () => {
  const job = prom.scrape_configs.find((j) => j.job_name === "mirror")?.static_configs ?? [];
  const scraped = job.flatMap((c) => c.targets.map((t) => `${t} ${c.labels?.service}`)).sort();
  const expected = MANIFESTS.filter((m) => m.startsByDefault)
    .map((m) => `${m.name}:${m.port} ${m.name}`)
    .sort();
  const block = MANIFESTS.filter((m) => m.startsByDefault)
    .map((m) => `      - targets: ["${m.name}:${m.port}"]\n        labels: { service: ${m.name} }`)
    .join("\n");
  assert.deepEqual(
    scraped,
    expected,
    `the mirror job's static_configs in deploy/prometheus/prometheus.yml should be:\n${block}`,
  );
  for (const m of MANIFESTS.filter((x) => !x.startsByDefault && compose.services[x.name])) {
    assert.match(
      promText,
      new RegExp(`#\\s*- targets: \\["${m.name}:${m.port}"\\]`),
      `${m.name} (opt-in) has a commented target on ${m.port}`,
    );
  }
});

test("each manifest's config section is a section of mirror.yaml and its port is that section's default port", () => {
  const defaults = MirrorConfig.parse({});
  for (const m of MANIFESTS) {
    let section: unknown = defaults;
    for (const key of m.config.section.split(".")) section = (section as Record<string, unknown> | undefined)?.[key];
    // Through .prefault(), .transform() and the like to the object schema of the section.
    type Shaped = {
      shape?: Record<string, { parse(v: unknown): unknown }>;
      in?: Shaped;
      unwrap?: () => Shaped;
      def?: { innerType?: Shaped };
    };
    let schema: Shaped | undefined = m.config.schema as unknown as Shaped;
    for (let i = 0; schema && !schema.shape && i < 5; i++)
      schema = schema.in ?? schema.def?.innerType ?? schema.unwrap?.();
    const port = schema?.shape?.port;
    assert.ok(port, `${m.file}: config.schema (${m.config.section}) has no port`);
    assert.equal(
      port.parse(undefined),
      m.port,
      `${m.file}: port ${m.port} is not the default port of its config section ${m.config.section}`,
    );
    if (section !== undefined)
      assert.equal(
        (section as { port?: number }).port,
        m.port,
        `${m.config.section}.port defaults to the manifest's port`,
      );
  }
});

test("every service section of mirror.yaml belongs to some manifest (bus, store, http and maintenance are everyone's)", () => {
  const sections = Object.keys((MirrorConfig as unknown as { in: { shape: Record<string, unknown> } }).in.shape);
  const claimed = new Set(MANIFESTS.map((m) => m.config.section.split(".")[0]));
  for (const section of sections.filter((s) => !["bus", "store", "http", "maintenance"].includes(s))) {
    assert.ok(claimed.has(section), `mirror.yaml section "${section}" is no manifest's config.section`);
  }
});
