import { formatDuration, type HistoryTrendReply, historyTrend, type TrendDay } from "@mirror/contracts";
import { call, connectOperator } from "../operator.js";
import { parseFlags, usage } from "./loops.js";

const USAGE = `usage: mirror trend [--days N] [--kind KIND] [--json]
  the maintenance trend the history service keeps: per day, the loops open at its end, opened and
  closed that day, and the mean time to acknowledge and to close them.
  --days   how many days back, 1-90 (default 30)
  --kind   only loops of this kind (e.g. repo.dirty)
`;

/** `mirror trend`: the history's `history.trend` endpoint over the bus, as a table with a bar per day, or JSON. */
export async function run(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const opts = parseFlags(args, ["--days", "--kind"], ["--json"]);
  if (typeof opts === "string" || opts.rest.length)
    return usage("trend", USAGE, typeof opts === "string" ? opts : `unexpected argument ${opts.rest[0]}`);
  const days = Number(opts.values["--days"] ?? 30);
  if (!Number.isInteger(days) || days < 1 || days > 90)
    return usage("trend", USAGE, `--days must be a whole number from 1 to 90, not ${opts.values["--days"]}`);
  const bus = await connectOperator("trend", env);
  if (typeof bus === "number") return bus;
  try {
    const reply = await call(bus, historyTrend, { days }, "history service");
    if (typeof reply === "string") {
      process.stderr.write(`mirror trend: ${reply}\n`);
      return 1;
    }
    const kind = opts.values["--kind"];
    const shown = kind ? onlyKind(reply, kind) : reply;
    process.stdout.write(opts.flags.has("--json") ? `${JSON.stringify(shown, null, 2)}\n` : trendTable(shown));
    return 0;
  } finally {
    await bus.close(300);
  }
}

/** The days with every count narrowed to one loop kind. */
export function onlyKind(reply: HistoryTrendReply, kind: string): HistoryTrendReply {
  const pick = <T>(r: Record<string, T>) => (kind in r ? { [kind]: r[kind] as T } : {});
  return {
    ...reply,
    days: reply.days.map((d) => {
      const open = pick(d.open);
      const openTotal = Object.values(open).reduce(
        (a, s) => a + Object.values(s ?? {}).reduce((x: number, y) => x + (y ?? 0), 0),
        0,
      );
      return {
        ...d,
        open,
        openTotal,
        opened: pick(d.opened),
        closed: pick(d.closed),
        meanAckMs: pick(d.meanAckMs),
        meanCloseMs: pick(d.meanCloseMs),
      };
    }),
  };
}

const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);

/** Mean over kinds, weighted by `weights` (how many loops of each kind it averages; 1 each when unknown). */
function weightedMean(means: Record<string, number>, weights: Record<string, number>): string {
  let total = 0;
  let n = 0;
  for (const [k, v] of Object.entries(means)) {
    const w = weights[k] ?? 1;
    total += v * w;
    n += w;
  }
  return n ? formatDuration(Math.round(total / n)) : "-";
}

/** Columns: date, open at the end of the day (with a bar), opened, closed, mean time to close. */
export function trendTable(reply: HistoryTrendReply): string {
  const max = Math.max(1, ...reply.days.map((d) => d.openTotal));
  const width = 30;
  const bar = (d: TrendDay) => "█".repeat(Math.round((d.openTotal / max) * width)) || (d.openTotal ? "▏" : "");
  const rows = reply.days.map((d) => [
    d.date,
    String(d.openTotal),
    String(sum(d.opened)),
    String(sum(d.closed)),
    weightedMean(d.meanAckMs, {}),
    weightedMean(d.meanCloseMs, d.closed),
    bar(d),
  ]);
  const head = ["DATE", "OPEN", "OPENED", "CLOSED", "TO ACK", "TO CLOSE", ""];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (r: string[]) =>
    r
      .map((v, i) =>
        i === r.length - 1 ? v : i === 0 ? v.padEnd(widths[i] as number) : v.padStart(widths[i] as number),
      )
      .join("  ")
      .trimEnd();
  const last = reply.days.at(-1);
  const kinds = last
    ? Object.entries(last.open).map(
        ([k, s]) =>
          `${k} ${Object.entries(s ?? {})
            .map(([sev, n]) => `${n} ${sev}`)
            .join(", ")}`,
      )
    : [];
  const footer = kinds.length ? `\nopen now by kind: ${kinds.join("; ")}\n` : "\nno open loops\n";
  return `${[head, ...rows].map(line).join("\n")}\n${footer}(days in ${reply.timeZone}; history.timeZone in mirror.yaml)\n`;
}
