import { ManifestError, type ServiceManifest } from "@mirror/contracts";
import { loadManifests, startOrder } from "../manifests.js";

const USAGE = "usage: mirror services [--json]\n";

/** Subjects that differ only in their last token, written once: `mirror.loops.{list,get,ack}`. */
export function compactSubjects(subjects: readonly string[]): string {
  const groups = new Map<string, string[]>();
  for (const s of subjects) {
    const at = s.lastIndexOf(".");
    const [head, last] = at < 0 || s.endsWith(">") || s.endsWith("*") ? [s, ""] : [s.slice(0, at), s.slice(at + 1)];
    const key = last ? head : `\u0000${s}`;
    groups.set(key, [...(groups.get(key) ?? []), last]);
  }
  return [...groups]
    .map(([head, lasts]) =>
      head.startsWith("\u0000")
        ? head.slice(1)
        : lasts.length === 1
          ? `${head}.${lasts[0]}`
          : `${head}.{${lasts.join(",")}}`,
    )
    .join(" ");
}

function row(m: ServiceManifest): Record<string, string> {
  return {
    name: m.name,
    port: String(m.port),
    publishes: compactSubjects(m.publishes) || "-",
    consumes: m.consumes.map((c) => `${c.durable}(${c.filter})`).join(" ") || "-",
    requests: compactSubjects(m.requests) || "-",
    serves: compactSubjects(m.serves) || "-",
  };
}

function table(rows: Record<string, string>[]): string {
  const cols = ["name", "port", "publishes", "consumes", "requests", "serves"];
  const width = (c: string) => Math.max(c.length, ...rows.map((r) => (r[c] ?? "").length));
  const line = (r: Record<string, string>) =>
    cols
      .map((c, i) => (i === cols.length - 1 ? (r[c] ?? "") : (r[c] ?? "").padEnd(width(c))))
      .join("  ")
      .trimEnd();
  return [line(Object.fromEntries(cols.map((c) => [c, c.toUpperCase()]))), ...rows.map(line)].join("\n");
}

/**
 * `mirror services [--json]`: one row per service manifest (services/<name>/src/manifest.ts):
 * name, port, and what it publishes, consumes, requests and serves. Exit 2 names the manifest and
 * the field when one is wrong.
 */
export async function run(args: string[]): Promise<number> {
  const json = args.includes("--json");
  const extra = args.filter((a) => a !== "--json");
  if (extra.length) {
    process.stderr.write(`mirror services: unknown argument ${extra[0]}\n${USAGE}`);
    return 2;
  }
  let manifests: ServiceManifest[];
  try {
    manifests = await loadManifests();
  } catch (err) {
    if (!(err instanceof ManifestError)) throw err;
    process.stderr.write(`mirror services: ${err.message}\n`);
    return 2;
  }
  const byDefault = new Set(startOrder(manifests).map((m) => m.name));
  if (json) {
    const out = manifests.map((m) => ({
      name: m.name,
      port: m.port,
      file: m.file,
      configSection: m.config.section,
      publishes: m.publishes,
      consumes: m.consumes,
      requests: m.requests,
      serves: m.serves,
      readsHistory: m.readsHistory,
      redisPrefix: m.redisPrefix,
      startsByDefault: byDefault.has(m.name),
    }));
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    return 0;
  }
  process.stdout.write(`${table(manifests.map(row))}\n`);
  return 0;
}
