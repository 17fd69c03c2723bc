/**
 * `pnpm bench [NAME...] [--quick] [--strict]`: runs every benchmark (or those named, by bench
 * name or figure id), prints a table and writes bench/out/latest.json.
 *
 * --quick   tiny sizes and one run each (what the smoke test runs)
 * --strict  exit 1 when a figure misses its goal (default: only a failing bench exits non-zero)
 * --md      also print the Markdown table (for docs/PERFORMANCE.md)
 * --out=F   write the JSON to F instead of bench/out/latest.json
 * --docs    also put the table and the machine into docs/PERFORMANCE.md (between its bench markers)
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Bench, Figure } from "./figure.js";
import { footprintBench } from "./footprint.js";
import { historyBench } from "./history.js";
import { loopsBench } from "./loops.js";
import { type Machine, machine } from "./machine.js";
import { pipelineBench } from "./pipeline.js";
import { scannerBench } from "./scanner.js";
import { signBench } from "./sign.js";
import { fmt, markdownTable, textTable } from "./table.js";
import { trackerBench } from "./tracker.js";

export const BENCHES: Bench[] = [
  pipelineBench,
  loopsBench,
  scannerBench,
  trackerBench,
  signBench,
  historyBench,
  footprintBench,
];

/** The benches a name selects: a bench name, or a figure id (or id prefix) one of them produces. */
export function select(names: string[]): Bench[] {
  if (names.length === 0) return BENCHES;
  const unknown = names.filter((n) => !BENCHES.some((b) => matches(b, n)));
  if (unknown.length)
    throw new Error(`unknown bench ${unknown.join(", ")}; benches: ${BENCHES.map((b) => b.name).join(", ")}`);
  return BENCHES.filter((b) => names.some((n) => matches(b, n)));
}

function matches(b: Bench, name: string): boolean {
  return b.name === name || b.figures.some((f) => f === name || (f.endsWith(".") && name.startsWith(f)));
}

export const OUT_FILE = join(dirname(fileURLToPath(import.meta.url)), "out", "latest.json");

export const DOCS_FILE = join(dirname(fileURLToPath(import.meta.url)), "..", "docs", "PERFORMANCE.md");
const BEGIN = "<!-- bench:begin -->";
const END = "<!-- bench:end -->";

/** Replaces the generated block of docs/PERFORMANCE.md with this run's machine and table. */
function writeDocs(info: Machine & { seconds: number; finishedAt: string; quick: boolean }, figures: Figure[]): void {
  const text = readFileSync(DOCS_FILE, "utf8");
  const [head, rest] = text.split(BEGIN);
  const tail = rest?.split(END)[1];
  if (head === undefined || tail === undefined) throw new Error(`${DOCS_FILE} has no ${BEGIN} ... ${END} block`);
  const extras = figures
    .filter((f) => f.extra)
    .map(
      (f) =>
        `- \`${f.id}\`: ${Object.entries(f.extra ?? {})
          .map(([k, v]) => `${k} ${fmt(v)}`)
          .join(", ")}`,
    );
  const block = [
    `Measured ${info.finishedAt.slice(0, 16).replace("T", " ")} UTC by \`pnpm bench${info.quick ? " --quick" : ""}\` in ${info.seconds} s on: ${info.cpu}, ${info.cores} cores, ${info.memoryGB} GB, ${info.os}, Node ${info.node}, ${info.natsServer}, ${info.redisServer}, ${info.git}. Load average when it started: ${info.loadAtStart}.`,
    "",
    markdownTable(figures),
    "",
    "Extra measurements of the same run:",
    "",
    ...extras,
  ].join("\n");
  writeFileSync(DOCS_FILE, `${head}${BEGIN}\n${block}\n${END}${tail}`);
}

async function main(argv: string[]): Promise<number> {
  const flags = new Set(argv.filter((a) => a.startsWith("--")));
  const out = argv.find((a) => a.startsWith("--out="))?.slice("--out=".length) ?? OUT_FILE;
  let benches: Bench[];
  try {
    benches = select(argv.filter((a) => !a.startsWith("--")));
  } catch (err) {
    process.stderr.write(`bench: ${(err as Error).message}\n`);
    return 2;
  }
  const quick = flags.has("--quick");
  const started = performance.now();
  const info = machine();
  const log = (line: string) => process.stderr.write(`bench: ${line}\n`);
  log(
    `${info.cpu}, ${info.cores} cores, load ${info.loadAtStart}; ${benches.map((b) => b.name).join(", ")}${quick ? " (quick)" : ""}`,
  );
  const figures: Figure[] = [];
  const failed: string[] = [];
  for (const b of benches) {
    const t = performance.now();
    try {
      figures.push(...(await b.run({ quick, log: (l) => log(`[${b.name}] ${l}`) })));
      log(`${b.name} done in ${((performance.now() - t) / 1000).toFixed(0)}s`);
    } catch (err) {
      failed.push(b.name);
      log(`${b.name} FAILED: ${(err as Error).stack ?? err}`);
    }
  }
  const seconds = Math.round((performance.now() - started) / 1000);
  const ran = { ...info, quick, seconds, finishedAt: new Date().toISOString() };
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify({ machine: ran, figures }, null, 2)}\n`);
  if (flags.has("--docs")) writeDocs(ran, figures);
  process.stdout.write(`${textTable(figures)}\n\n`);
  if (flags.has("--md")) process.stdout.write(`${markdownTable(figures)}\n\n`);
  const missed = figures.filter((f) => !f.ok).map((f) => f.id);
  process.stdout.write(
    `${figures.length} figures in ${seconds}s; written to ${out}${missed.length ? `; below goal: ${missed.join(", ")}` : ""}\n`,
  );
  if (failed.length) return 1;
  return flags.has("--strict") && missed.length ? 1 : 0;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.exitCode = await main(process.argv.slice(2));
  // A client library's stray timer must not keep a finished run alive.
  setTimeout(() => process.exit(), 2_000).unref();
}
