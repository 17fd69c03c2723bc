// The monitoring profile of docker-compose.yml is wired with no clicks: Prometheus gets its
// config and rules, scrapes every mesh service of the compose file on its port (NATS through the
// exporter only when the owner opts in); Grafana gets the datasource the dashboards name and opens on the MirrorOS one.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { DEFAULT_PORTS, SERVICE_NAMES } from "../mesh-services.js";
import { REPO_ROOT } from "@mirror/testkit";
import { parse } from "yaml";
import { DASHBOARDS } from "./queries.js";

type Service = {
  profiles?: string[];
  build?: { args?: Record<string, string> };
  volumes?: (string | { source: string; target: string })[];
  environment?: Record<string, string>;
  ports?: unknown[];
};
type StaticConfig = { targets: string[]; labels?: Record<string, string> };
type ScrapeConfig = { job_name: string; static_configs?: StaticConfig[] };

function composeConfig(): Record<string, Service> {
  const r = spawnSync("docker-compose", ["-f", "docker-compose.yml", "--profile", "monitoring", "config"], {
    cwd: REPO_ROOT,
    encoding: "utf8",
  });
  if (r.error) assert.fail("docker-compose is not on PATH: .ci/run installs it (apt-get install docker-compose)");
  assert.equal(r.status, 0, r.stderr);
  return (parse(r.stdout) as { services: Record<string, Service> }).services;
}

/** A service's bind mounts as target -> source (relative to the repo). */
function mounts(s: Service | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const v of s?.volumes ?? []) {
    const [source, target] = typeof v === "string" ? v.split(":") : [v.source, v.target];
    if (source && target) out.set(target, source.replace(`${REPO_ROOT.replace(/\/$/, "")}/`, "./"));
  }
  return out;
}

const services = composeConfig();
const yamlAt = <T>(path: string) => parse(readFileSync(join(REPO_ROOT, path), "utf8")) as T;

test("prometheus gets prometheus.yml and alerts.yml where the config expects them", () => {
  const m = mounts(services.prometheus);
  assert.equal(m.get("/etc/prometheus/prometheus.yml"), "./deploy/prometheus/prometheus.yml");
  assert.equal(m.get("/etc/prometheus/alerts.yml"), "./deploy/prometheus/alerts.yml");
  const cfg = yamlAt<{ rule_files: string[] }>("deploy/prometheus/prometheus.yml");
  assert.deepEqual(cfg.rule_files, ["alerts.yml"]);
});

test("prometheus scrapes every mesh service of docker-compose.yml on its port; the NATS exporter is optional", () => {
  const cfg = yamlAt<{ scrape_configs: ScrapeConfig[] }>("deploy/prometheus/prometheus.yml");
  const job = (name: string) => cfg.scrape_configs.find((j) => j.job_name === name)?.static_configs ?? [];
  const scraped = new Map(job("mirror").flatMap((c) => c.targets.map((t) => [t, c.labels?.service])));
  const mesh = Object.entries(services)
    .filter(([, s]) => SERVICE_NAMES.includes(s.build?.args?.SERVICE as never))
    .map(([name]) => name);
  assert.deepEqual([...mesh].sort(), [...SERVICE_NAMES].sort(), "the compose file runs the whole mesh");
  for (const name of mesh)
    assert.equal(
      scraped.get(`${name}:${DEFAULT_PORTS[name]}`),
      name,
      `${name} is scraped on ${DEFAULT_PORTS[name]} with service="${name}"`,
    );
  // JetStream health comes from the services (mirror_jetstream_*); an active nats job without the
  // exporter running would only fire MirrorNatsExporterDown.
  assert.deepEqual(job("nats"), [], "no nats job unless the owner opts in to the exporter");
  assert.deepEqual(
    services["nats-exporter"]?.profiles,
    ["nats-exporter"],
    "the exporter has its own opt-in profile, not monitoring",
  );
  assert.match(
    readFileSync(join(REPO_ROOT, "deploy/prometheus/prometheus.yml"), "utf8"),
    /#\s+- job_name: nats/,
    "the opt-in nats job is there to uncomment",
  );
});

test("grafana is provisioned: the datasource the dashboards use, the dashboards folder, a home dashboard", () => {
  const g = services.grafana as Service;
  const m = mounts(g);
  assert.equal(m.get("/etc/grafana/provisioning"), "./deploy/grafana/provisioning");
  const provider = yamlAt<{ providers: { options: { path: string } }[] }>(
    "deploy/grafana/provisioning/dashboards/mirroros.yml",
  ).providers[0];
  assert.equal(
    m.get(provider?.options.path ?? ""),
    "./deploy/grafana/dashboards",
    "the provider reads the mounted dashboards",
  );
  const ds = yamlAt<{ datasources: { uid: string; url: string }[] }>(
    "deploy/grafana/provisioning/datasources/prometheus.yml",
  ).datasources[0];
  assert.equal(ds?.url, "http://prometheus:9090");
  const home = g.environment?.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH ?? "";
  assert.ok(
    home.startsWith(`${provider?.options.path}/`) && existsSync(join(DASHBOARDS, home.split("/").pop() as string)),
    `home dashboard ${home}`,
  );
  assert.equal(g.environment?.GF_AUTH_ANONYMOUS_ENABLED, "true", "viewable without logging in");
  for (const file of readdirSync(DASHBOARDS).filter((f) => f.endsWith(".json"))) {
    const text = readFileSync(join(DASHBOARDS, file), "utf8");
    const uids = new Set(
      [...text.matchAll(/"datasource":\s*\{\s*"type":\s*"prometheus",\s*"uid":\s*"([^"]+)"/g)].map((x) => x[1]),
    );
    assert.deepEqual([...uids], [ds?.uid], `${file} uses the provisioned datasource`);
  }
});
