import type { Figure } from "./figure.js";

/** A number with about three significant digits, in plain notation. */
export function fmt(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  if (a >= 1000) return Math.round(x).toLocaleString("en-US");
  if (a >= 100) return x.toFixed(0);
  if (a >= 10) return x.toFixed(1);
  if (a >= 1) return x.toFixed(2);
  return x.toPrecision(2);
}

const COLUMNS = ["figure", "value", "unit", "min..max", "baseline", "baseline value", "ratio", "goal", "ok"] as const;

function row(f: Figure): string[] {
  return [
    f.id,
    fmt(f.value),
    f.unit,
    `${fmt(f.min)}..${fmt(f.max)}`,
    f.baseline,
    fmt(f.baselineValue),
    fmt(f.ratio),
    f.goal,
    f.ok ? "yes" : "NO",
  ];
}

/** The figures as an aligned text table (terminal). */
export function textTable(figures: Figure[]): string {
  const rows = [[...COLUMNS], ...figures.map(row)];
  const widths = COLUMNS.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i] ?? 0))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

/** The figures as a Markdown table (docs/PERFORMANCE.md). */
export function markdownTable(figures: Figure[]): string {
  const lines = [`| ${COLUMNS.join(" | ")} |`, `|${COLUMNS.map(() => "---").join("|")}|`];
  for (const f of figures) lines.push(`| ${row(f).join(" | ")} |`);
  return lines.join("\n");
}
