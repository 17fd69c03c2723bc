// Writes docs/CONFIG.md: every mirror.yaml key with its type, default and doc comment, generated from
// the zod schemas in packages/contracts (the one source of truth), so the reference cannot drift.
// `node --import tsx scripts/config-reference.ts` rewrites it; `--check` exits 1 when it is stale.
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { MirrorConfig } from "@mirror/contracts";
import { z } from "zod";

type Schema = {
  type?: string | string[];
  default?: unknown;
  properties?: Record<string, Schema>;
  items?: Schema;
  anyOf?: Schema[];
  oneOf?: Schema[];
  enum?: unknown[];
  const?: unknown;
  additionalProperties?: Schema | boolean;
};

const root = fileURLToPath(new URL("..", import.meta.url));
const configDir = join(root, "packages/contracts/src/config");

/** Doc comments by property name, per section file; a name used twice in a file gets none. */
function docComments(): Map<string, string> {
  const out = new Map<string, string>();
  for (const file of readdirSync(configDir)) {
    const text = readFileSync(join(configDir, file), "utf8");
    const seen = new Map<string, number>();
    const re = /\/\*\*((?:(?!\*\/)[\s\S])*)\*\/\s*\n\s*([A-Za-z]+)\??:/g;
    for (const m of text.matchAll(/^\s*([A-Za-z]+)\??: /gm)) seen.set(m[1] as string, (seen.get(m[1] as string) ?? 0) + 1);
    for (const m of text.matchAll(re)) {
      const name = m[2] as string;
      if ((seen.get(name) ?? 0) !== 1) continue;
      const doc = (m[1] as string).replace(/^\s*\*\s?/gm, "").replace(/\s+/g, " ").trim();
      out.set(`${file.replace(/\.ts$/, "")}:${name}`, doc);
    }
  }
  return out;
}

/** Meanings of keys that recur in many sections (and so carry no single doc comment). */
const GENERIC: Record<string, string> = {
  port: "HTTP port of the service (`/healthz`, `/readyz`, `/metrics`, its API); 0 picks a free one",
  url: "URL",
  timeout: "deadline of one call",
  interval: "how often it runs",
  name: "unique name, used in logs, metrics and routes",
  enabled: "turn it off without removing it",
  severity: "info, low, medium, high or critical",
  after: "how long the condition must hold before the loop opens",
  secret: "secret (use `${ENV}` or `{ secretFile: PATH }`); never logged",
  headers: "extra HTTP headers",
};

const SECTION_FILE: Record<string, string> = { bus: "bus", store: "bus", http: "index", scanner: "scanner", tracker: "tracker", loops: "loops", notifier: "notifier", model: "model" };

function typeOf(s: Schema): string {
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(" \\| ");
  const alts = s.anyOf ?? s.oneOf;
  if (alts) return alts.map(typeOf).join(" or ");
  const t = Array.isArray(s.type) ? s.type : [s.type ?? "any"];
  if (t.includes("string") && t.includes("number") && t.length === 2) return "duration";
  if (t[0] === "array") return `list of ${s.items ? typeOf(s.items) : "any"}`;
  if (t[0] === "object" && !s.properties) return "map";
  return t.join(" or ");
}

function rows(s: Schema, path: string, section: string, docs: Map<string, string>, out: string[]): void {
  for (const [name, prop] of Object.entries(s.properties ?? {})) {
    const key = path ? `${path}.${name}` : name;
    const doc = docs.get(`${SECTION_FILE[section] ?? section}:${name}`) ?? GENERIC[name] ?? "";
    const isObject = prop.properties && Object.keys(prop.properties).length > 0;
    const def = prop.default === undefined || (isObject && JSON.stringify(prop.default) === "{}") ? "" : `\`${JSON.stringify(prop.default)}\``;
    const variants = prop.items ? (prop.items.anyOf ?? prop.items.oneOf ?? [prop.items]).filter((v) => v.properties) : [];
    if (isObject) {
      if (doc) out.push(`| \`${key}\` | section | | ${doc} |`);
      rows(prop, key, section, docs, out);
    } else if (variants.length > 0) {
      out.push(`| \`${key}\` | list | ${def} | ${doc || GENERIC[name] || ""} |`);
      for (const v of variants) {
        const tag = v.properties?.type?.const;
        rows(v, `${key}[${tag === undefined ? "" : `type=${String(tag)}`}]`, section, docs, out);
      }
    } else {
      out.push(`| \`${key}\` | ${typeOf(prop).replace(/\|(?!\|)/g, "\\|")} | ${def} | ${doc.replace(/\|/g, "\\|")} |`);
    }
  }
}

export function renderConfigReference(): string {
  const schema = z.toJSONSchema(MirrorConfig, { io: "input", unrepresentable: "any" }) as Schema;
  const docs = docComments();
  const lines = [
    "# mirror.yaml reference",
    "",
    "Generated from the zod schemas in `packages/contracts/src/config/` by `node --import tsx scripts/config-reference.ts`;",
    "a test fails when this file is stale. Durations are strings with units (`500ms`, `30s`, `5m`, `24h`, `7d`).",
    "Channel, route and check entries are lists of objects; their fields are listed under the list's key.",
    "",
  ];
  for (const [section, s] of Object.entries(schema.properties ?? {})) {
    const out: string[] = [];
    rows(s, section, section, docs, out);
    lines.push(`## ${section}`, "", "| key | type | default | meaning |", "| --- | --- | --- | --- |", ...out, "");
  }
  return `${lines.join("\n").trimEnd()}\n`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const file = join(root, "docs/CONFIG.md");
  const text = renderConfigReference();
  if (process.argv.includes("--check")) {
    const current = readFileSync(file, "utf8");
    if (current !== text) {
      process.stderr.write("docs/CONFIG.md is stale: run node --import tsx scripts/config-reference.ts\n");
      process.exit(1);
    }
  } else {
    writeFileSync(file, text);
  }
}
