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
  description?: string;
  /** Which zod schema this node came from: two keys with the same id are the same field (a spread, a shared object). */
  "x-field"?: number;
};

/** One key of the reference and where its meaning came from. */
export interface ConfigRow {
  key: string;
  type: string;
  default: string;
  meaning: string;
  /** `describe`: the field's own `.describe()`; `comment`: its doc comment; `generic`: a section-level key's shared meaning. */
  from: "describe" | "comment" | "generic" | "none";
  field: number | undefined;
}

const root = fileURLToPath(new URL("..", import.meta.url));
const configDir = join(root, "packages/contracts/src/config");

/** Doc comments by property name, per section file; a name used twice in a file gets none. */
function docComments(): Map<string, string> {
  const out = new Map<string, string>();
  for (const file of readdirSync(configDir)) {
    const text = readFileSync(join(configDir, file), "utf8");
    const seen = new Map<string, number>();
    const re = /\/\*\*((?:(?!\*\/)[\s\S])*)\*\/\s*\n\s*([A-Za-z]+)\??:/g;
    for (const m of text.matchAll(/^\s*([A-Za-z]+)\??: /gm))
      seen.set(m[1] as string, (seen.get(m[1] as string) ?? 0) + 1);
    for (const m of text.matchAll(re)) {
      const name = m[2] as string;
      if ((seen.get(name) ?? 0) !== 1) continue;
      const doc = (m[1] as string)
        .replace(/^\s*\*\s?/gm, "")
        .replace(/\s+/g, " ")
        .trim();
      out.set(`${file.replace(/\.ts$/, "")}:${name}`, doc);
    }
  }
  return out;
}

/**
 * Meanings of keys that recur as a section's own setting (`scanner.port`, `tracker.port`, …) and
 * so carry no single doc comment. Only for keys outside lists: a field inside a check or channel
 * (`tracker.checks[].tcp.port`, an email channel's `port`) describes itself, or has no meaning
 * listed, never one borrowed from another field with the same key name.
 */
const GENERIC: Record<string, string> = {
  port: "HTTP port of the service (`/healthz`, `/readyz`, `/metrics`, its API); 0 picks a free one",
  timeout: "deadline of one call",
  interval: "how often it runs",
  enabled: "turn it off without removing it",
  severity: "info, low, medium, high or critical",
  after: "how long the condition must hold before the loop opens",
};

/** Keys of a shared file that other work owns, described here until their fields describe themselves. */
const BY_PATH: Record<string, string> = {
  "bus.url":
    "NATS server URL, or the comma-separated URLs of a cluster's nodes, any of which may go (`MIRROR_NATS_URL` overrides it)",
  "store.url": "Redis URL (`MIRROR_REDIS_URL` overrides it); with `sentinels`, only its user and password are used",
};

const SECTION_FILE: Record<string, string> = {
  bus: "bus",
  store: "bus",
  http: "index",
  scanner: "scanner",
  tracker: "tracker",
  loops: "loops",
  notifier: "notifier",
  model: "model",
};

function typeOf(s: Schema): string {
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(" \\| ");
  const alts = s.anyOf ?? s.oneOf;
  const plain = alts?.map((a) => (a.const === undefined && !a.enum && typeof a.type === "string" ? a.type : "")).sort();
  if (plain?.join() === "number,string") return "duration";
  if (alts) return alts.map(typeOf).join(" or ");
  const t = Array.isArray(s.type) ? s.type : [s.type ?? "any"];
  if (t.includes("string") && t.includes("number") && t.length === 2) return "duration";
  if (t[0] === "array") return `list of ${s.items ? typeOf(s.items) : "any"}`;
  if (t[0] === "object" && !s.properties) return "map";
  return t.join(" or ");
}

/** A key's meaning: its field's own description, else its doc comment, else a section-level generic. */
function meaningOf(
  key: string,
  name: string,
  prop: Schema,
  section: string,
  docs: Map<string, string>,
): Pick<ConfigRow, "meaning" | "from"> {
  if (prop.description) return { meaning: prop.description, from: "describe" };
  const comment = docs.get(`${SECTION_FILE[section] ?? section}:${name}`) ?? BY_PATH[key];
  if (comment) return { meaning: comment, from: "comment" };
  const generic = key.includes("[") ? undefined : GENERIC[name];
  return generic ? { meaning: generic, from: "generic" } : { meaning: "", from: "none" };
}

function rows(s: Schema, path: string, section: string, docs: Map<string, string>, out: ConfigRow[]): void {
  for (const [name, prop] of Object.entries(s.properties ?? {})) {
    const key = path ? `${path}.${name}` : name;
    const { meaning, from } = meaningOf(key, name, prop, section, docs);
    const isObject = prop.properties && Object.keys(prop.properties).length > 0;
    const def =
      prop.default === undefined || (isObject && JSON.stringify(prop.default) === "{}")
        ? ""
        : `\`${JSON.stringify(prop.default)}\``;
    const variants = prop.items
      ? (prop.items.anyOf ?? prop.items.oneOf ?? [prop.items]).filter((v) => v.properties)
      : [];
    const field = prop["x-field"];
    if (isObject) {
      if (meaning) out.push({ key, type: "section", default: "", meaning, from, field });
      rows(prop, key, section, docs, out);
    } else if (variants.length > 0) {
      out.push({ key, type: "list", default: def, meaning, from, field });
      for (const v of variants) {
        const tag = v.properties?.type?.const;
        rows(v, `${key}[${tag === undefined ? "" : `type=${String(tag)}`}]`, section, docs, out);
      }
    } else {
      out.push({ key, type: typeOf(prop), default: def, meaning, from, field });
    }
  }
}

/** The JSON Schema of mirror.yaml, each node marked with the zod schema it came from. */
function configSchema(): Schema {
  const ids = new WeakMap<object, number>();
  let next = 1;
  return z.toJSONSchema(MirrorConfig, {
    io: "input",
    unrepresentable: "any",
    override: (ctx) => {
      let id = ids.get(ctx.zodSchema);
      if (id === undefined) {
        id = next++;
        ids.set(ctx.zodSchema, id);
      }
      (ctx.jsonSchema as Schema)["x-field"] = id;
    },
  }) as Schema;
}

/** Every key of every section, in order. */
export function configRows(): { section: string; rows: ConfigRow[] }[] {
  const schema = configSchema();
  const docs = docComments();
  return Object.entries(schema.properties ?? {}).map(([section, s]) => {
    const out: ConfigRow[] = [];
    // A section that is a list (the top-level maintenance windows) is listed as its own key.
    if (s.properties) rows(s, section, section, docs, out);
    else rows({ properties: { [section]: s } }, "", section, docs, out);
    return { section, rows: out };
  });
}

function markdownRow(r: ConfigRow): string {
  if (r.type === "section") return `| \`${r.key}\` | section | | ${r.meaning} |`;
  const type = r.type === "section" || r.type === "list" ? r.type : r.type.replace(/\|(?!\|)/g, "\\|");
  const meaning = r.type === "section" || r.type === "list" ? r.meaning : r.meaning.replace(/\|/g, "\\|");
  return `| \`${r.key}\` | ${type} | ${r.default} | ${meaning} |`;
}

export function renderConfigReference(): string {
  const lines = [
    "# mirror.yaml reference",
    "",
    "Generated from the zod schemas in `packages/contracts/src/config/` by `node --import tsx scripts/config-reference.ts`;",
    "a test fails when this file is stale. Durations are strings with units (`500ms`, `30s`, `5m`, `24h`, `7d`).",
    "Channel, route and check entries are lists of objects; their fields are listed under the list's key.",
    "",
  ];
  for (const { section, rows: out } of configRows()) {
    lines.push(
      `## ${section}`,
      "",
      "| key | type | default | meaning |",
      "| --- | --- | --- | --- |",
      ...out.map(markdownRow),
      "",
    );
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
