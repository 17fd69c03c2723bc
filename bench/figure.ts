/**
 * A benchmark figure: the median of several runs after a warm-up, beside a baseline measured
 * in the same run (raw NATS/JetStream, raw git, raw HTTP), so that the ratio holds on a noisy
 * machine where an absolute time does not.
 */
export interface Figure {
  /** Fixed id from issue 11: `pipeline.throughput`, `scanner.full`, `rss.notifier`, ... */
  id: string;
  /** Median of `runs`. */
  value: number;
  unit: string;
  /** What the figure is compared with (another figure id or a bare-tool measurement). */
  baseline: string;
  /** Median of `baselineRuns`. */
  baselineValue: number;
  /** value / baselineValue. */
  ratio: number;
  /** Human-readable goal, e.g. "ratio >= 0.25" or "value < 25". */
  goal: string;
  ok: boolean;
  min: number;
  max: number;
  runs: number[];
  baselineRuns: number[];
  /** What the number means or what limits it (a short sentence). */
  note?: string;
  /** Extra measurements that explain the figure (idle RSS, events lost, ...). */
  extra?: Record<string, number>;
}

/** A goal is on the value or on the ratio; the comparison decides pass or fail. */
export interface Goal {
  on: "value" | "ratio";
  op: "<" | "<=" | ">=" | ">";
  limit: number;
}

export function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** The q-quantile (0..1) of `values`, nearest rank. */
export function quantile(values: number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] as number;
}

function meets(x: number, g: Goal): boolean {
  switch (g.op) {
    case "<":
      return x < g.limit;
    case "<=":
      return x <= g.limit;
    case ">=":
      return x >= g.limit;
    case ">":
      return x > g.limit;
  }
}

export interface FigureInput {
  id: string;
  unit: string;
  runs: number[];
  baseline: string;
  baselineRuns: number[];
  goal: Goal;
  note?: string;
  extra?: Record<string, number>;
}

/** Builds a figure from its runs and its baseline's runs (medians, ratio, goal check). */
export function figure(input: FigureInput): Figure {
  const value = median(input.runs);
  const baselineValue = median(input.baselineRuns);
  const ratio = value / baselineValue;
  const checked = input.goal.on === "value" ? value : ratio;
  return {
    id: input.id,
    value,
    unit: input.unit,
    baseline: input.baseline,
    baselineValue,
    ratio,
    goal: `${input.goal.on} ${input.goal.op} ${input.goal.limit}`,
    ok: Number.isFinite(checked) && meets(checked, input.goal),
    min: Math.min(...input.runs),
    max: Math.max(...input.runs),
    runs: input.runs,
    baselineRuns: input.baselineRuns,
    ...(input.note ? { note: input.note } : {}),
    ...(input.extra ? { extra: input.extra } : {}),
  };
}

/** Options every bench takes: `quick` is the smoke run (tiny sizes, one run). */
export interface BenchOptions {
  quick?: boolean;
  /** Progress lines (stderr); silent when absent. */
  log?: (line: string) => void;
}

/** A named group of figures that run together (they share servers and baselines). */
export interface Bench {
  name: string;
  /** Figure ids (or id prefixes ending in ".") this bench produces. */
  figures: string[];
  run(opts: BenchOptions): Promise<Figure[]>;
}

/** Runs per figure: at least 3 after a warm-up (one in a smoke run). */
export const runsFor = (opts: BenchOptions) => (opts.quick ? 1 : 3);

/**
 * Calls `fn` once as a warm-up (discarded, skipped in a quick run) and then `runs` times,
 * alternating with `base` when given, so that a load change on the machine hits both alike.
 */
export async function interleave<T, B>(
  opts: BenchOptions,
  fn: (i: number) => Promise<T>,
  base?: (i: number) => Promise<B>,
): Promise<{ runs: T[]; base: B[] }> {
  if (!opts.quick) {
    if (base) await base(-1);
    await fn(-1);
  }
  const runs: T[] = [];
  const bases: B[] = [];
  for (let i = 0; i < runsFor(opts); i++) {
    if (base) bases.push(await base(i));
    runs.push(await fn(i));
  }
  return { runs, base: bases };
}
