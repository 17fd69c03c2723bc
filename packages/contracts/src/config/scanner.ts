import { z } from "zod";
import { duration } from "../duration.js";
import { Port } from "./port.js";

export const ScannerConfig = z
  .strictObject({
    port: Port.default(9101),
    roots: z.array(z.string().min(1)).default([]),
    interval: duration("60s"),
    maxDepth: z.number().int().min(0).max(64).default(4),
    exclude: z.array(z.string()).default(["node_modules", ".cache", "vendor"]),
    concurrency: z.number().int().min(1).max(256).default(8),
    /** Publish an unchanged snapshot again at least this often (level-triggered resync). */
    resyncEvery: duration("5m"),
  })
  .prefault({});
