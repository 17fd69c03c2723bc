// The PromQL of the shipped monitoring: every Grafana dashboard query and every alert rule.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "@mirror/testkit";
import { parse } from "yaml";

export const DASHBOARDS = join(REPO_ROOT, "deploy/grafana/dashboards");
export const PROMETHEUS = join(REPO_ROOT, "deploy/prometheus");

/** A query and where it comes from ("mirroros.json: Open loops by kind and severity"). */
export interface Query {
  where: string;
  expr: string;
}

type Node = {
  title?: string;
  panels?: Node[];
  targets?: { expr?: string }[];
  templating?: { list?: { name: string; query?: string | { query?: string } }[] };
};

function panelQueries(file: string, panels: Node[] = []): Query[] {
  return panels.flatMap((p) => [
    ...(p.targets ?? []).filter((t) => t.expr).map((t) => ({ where: `${file}: ${p.title}`, expr: t.expr as string })),
    ...panelQueries(file, p.panels),
  ]);
}

/** Every panel target and query variable of every dashboard JSON. */
export function dashboardQueries(): Query[] {
  return readdirSync(DASHBOARDS)
    .filter((f) => f.endsWith(".json"))
    .flatMap((file) => {
      const d = JSON.parse(readFileSync(join(DASHBOARDS, file), "utf8")) as Node;
      const vars = (d.templating?.list ?? []).map((v) => ({
        where: `${file}: $${v.name}`,
        expr: typeof v.query === "string" ? v.query : (v.query?.query ?? ""),
      }));
      return [...panelQueries(file, d.panels), ...vars.filter((v) => v.expr)];
    });
}

/** The expression of every rule of alerts.yml. */
export function alertQueries(): Query[] {
  const doc = parse(readFileSync(join(PROMETHEUS, "alerts.yml"), "utf8")) as {
    groups: { rules: { alert?: string; record?: string; expr: string }[] }[];
  };
  return doc.groups.flatMap((g) => g.rules.map((r) => ({ where: `alerts.yml: ${r.alert ?? r.record}`, expr: r.expr })));
}

/**
 * A dashboard expression as plain PromQL: Grafana's variables replaced by values Prometheus
 * accepts, and `label_values(...)` (a Grafana function) by its series selector.
 */
export function asPromQL(expr: string): string {
  const lv = /^label_values\((.*),\s*[a-zA-Z_]+\)$/.exec(expr.trim());
  return (lv ? (lv[1] as string) : expr)
    .replace(/\$__rate_interval|\$__interval|\$__range/g, "5m")
    .replace(/\$\{?[a-zA-Z_]+\}?/g, ".*");
}
