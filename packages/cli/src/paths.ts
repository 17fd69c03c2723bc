import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** Set by the bundle `pnpm start` runs (packages/cli/bin/mirror.mjs): the folder it was built from. */
declare const MIRROR_CLI_SOURCE: string | undefined;

/** packages/cli/src, whether this runs from the sources (tsx) or from the CLI bundle. */
export const cliSource =
  typeof MIRROR_CLI_SOURCE === "string" ? MIRROR_CLI_SOURCE : dirname(fileURLToPath(import.meta.url));

/** The workspace root. */
export const repoRoot = resolve(cliSource, "../../..");
