// A reader of the Prometheus text exposition format (what prom-client serves on /metrics), and
// of the metric names a PromQL expression refers to.

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  type: string;
  help: string;
  samples: Sample[];
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
/** Series names a family of each type exposes besides its own name. */
const SUFFIXES: Record<string, string[]> = { histogram: ["_bucket", "_sum", "_count"], summary: ["_sum", "_count"] };

const unescapeLabel = (v: string) => v.replace(/\\(["\\n])/g, (_, c: string) => (c === "n" ? "\n" : c));

/** Parses an exposition; throws on a line it cannot read or a sample without a declared family. */
export function parseExposition(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const family = (name: string) => {
    let f = families.get(name);
    if (!f) families.set(name, (f = { name, type: "untyped", help: "", samples: [] }));
    return f;
  };
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    const meta = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
    if (meta) {
      const f = family(meta[2] as string);
      if (meta[1] === "TYPE") f.type = meta[3] as string;
      else f.help = meta[3] as string;
      continue;
    }
    if (line.startsWith("#")) continue;
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`not an exposition line: ${line}`);
    const name = m[1] as string;
    const labels = Object.fromEntries(
      [...(m[2] ?? "").matchAll(LABEL)].map((l) => [l[1], unescapeLabel(l[2] as string)]),
    );
    const owner = familyOf(families, name);
    if (!owner) throw new Error(`sample ${name} has no # TYPE line`);
    owner.samples.push({ name, labels, value: Number(m[3]) });
  }
  return families;
}

/** The family a series name belongs to: itself, or a histogram/summary it is the _bucket/_sum/_count of. */
export function familyOf(families: Map<string, Family>, series: string): Family | undefined {
  const own = families.get(series);
  if (own) return own;
  for (const [type, suffixes] of Object.entries(SUFFIXES)) {
    for (const s of suffixes) {
      const f = series.endsWith(s) ? families.get(series.slice(0, -s.length)) : undefined;
      if (f?.type === type) return f;
    }
  }
  return undefined;
}

/** Metric names of the mesh (mirror_*) and of prom-client's defaults (process_*, nodejs_*) in a PromQL expression. */
export function metricNamesIn(expr: string): string[] {
  const outsideStrings = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  return [...new Set(outsideStrings.match(/\b(?:mirror|process|nodejs)_[a-zA-Z0-9_:]+\b/g) ?? [])];
}
