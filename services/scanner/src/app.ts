import { endpoint } from "@mirror/bus";
import { scanNow } from "@mirror/contracts";
import type { ServiceContext, Started } from "@mirror/kit";
import { ScannerMetrics } from "./metrics.js";
import { Scanner } from "./scanner.js";
import { resolveTarget } from "./target.js";

/** Starts the scanner: a scan every `scanner.interval`, and the `scan.now` endpoint. */
export async function startScanner(ctx: ServiceContext): Promise<Started & { scanner: Scanner }> {
  const config = ctx.config.scanner;
  const scanner = new Scanner({ bus: ctx.bus, store: ctx.store, log: ctx.log, clock: ctx.clock, metrics: new ScannerMetrics(ctx.registry), config });
  await scanner.load();
  if (config.roots.length === 0) ctx.log.warn("scanner.roots is empty: nothing to scan");
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const loop = async () => {
    const started = Date.now();
    try {
      const s = await scanner.scanAll();
      ctx.log.debug(s, "scan done");
    } catch (err) {
      ctx.log.error({ err }, "scan failed");
    }
    if (!stopped) timer = setTimeout(loop, Math.max(0, config.interval - (Date.now() - started)));
  };
  timer = setTimeout(loop, 0);
  const onScanNow = endpoint(scanNow, async (req) => {
    if (!req.path) return scanner.scanAll({ force: true });
    const repo = await resolveTarget(req.path, config.roots.map((r) => r.path));
    return scanner.scanSome([repo], { force: true });
  });
  return {
    scanner,
    endpoints: [onScanNow],
    metadata: { roots: String(config.roots.length) },
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
