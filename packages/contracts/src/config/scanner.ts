import { homedir } from "node:os";
import { join } from "node:path";
import { z } from "zod";
import { Duration, duration } from "../duration.js";
import { Port } from "./port.js";

/** One scanned folder: a path, or `{ path, fetch: true }` to `git fetch` its repos (off by default). */
export const ScannerRoot = z.union([
  z
    .string()
    .min(1)
    .transform((path) => ({ path: expandHome(path), fetch: false })),
  z.strictObject({ path: z.string().min(1).transform(expandHome), fetch: z.boolean().default(false) }),
]);

/** `~/code` means the owner's home, as in a shell; the scanner never sees a literal "~". */
function expandHome(path: string): string {
  return path === "~" || path.startsWith("~/") ? join(homedir(), path.slice(1)) : path;
}
export type ScannerRoot = z.infer<typeof ScannerRoot>;

export const ScannerConfig = z
  .strictObject({
    port: Port.default(9101),
    roots: z.array(ScannerRoot).default([]),
    interval: duration("60s"),
    maxDepth: z.number().int().min(0).max(64).default(4),
    exclude: z.array(z.string()).default(["node_modules", ".cache", "vendor"]),
    /** Repos scanned at once; default: the machine's CPU count. */
    concurrency: z.number().int().min(1).max(256).optional(),
    /** Publish an unchanged snapshot again at least this often (level-triggered keep-alive). */
    resync: duration("10m"),
    /** Older name of `resync`; when set it wins. */
    resyncEvery: Duration.optional(),
    /** React to changes under each repo's .git within a second (file-system events), besides the interval. */
    watch: z.boolean().default(false),
    /** Untracked paths counted per repo; more sets `untrackedCapped` on the snapshot. */
    maxUntracked: z.number().int().min(1).default(10_000),
    /** Longest a single git command may run. */
    gitTimeout: duration("30s"),
    /** How often repos under roots with `fetch: true` are fetched. */
    fetchInterval: duration("15m"),
    /**
     * Owners (user names or uids) whose repositories are scanned although the scanner's user does not own them; any other user's repository is not opened (git's ownership check) and shows as a `repo.untrusted` loop.
     */
    trustedOwners: z.array(z.union([z.string().min(1), z.number().int().nonnegative()])).default([]),
  })
  .prefault({});
export type ScannerConfig = z.infer<typeof ScannerConfig>;
