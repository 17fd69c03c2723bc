// The mesh as its manifests say (services/*/src/manifest.ts): what tests start and check.
import { loadManifests, startOrder } from "../packages/cli/src/manifests.js";

export const MANIFESTS = await loadManifests();
/** The services `pnpm start` runs without names, in start order. */
export const SERVICE_NAMES: readonly string[] = startOrder(MANIFESTS).map((m) => m.name);
/** Each service's default HTTP port. */
export const DEFAULT_PORTS: Readonly<Record<string, number>> = Object.fromEntries(
  MANIFESTS.map((m) => [m.name, m.port]),
);
