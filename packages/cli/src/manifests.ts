import { existsSync, readdirSync } from "node:fs";
import { join, relative } from "node:path";
import { pathToFileURL } from "node:url";
import {
  checkMesh,
  defineManifest,
  ManifestError,
  MirrorConfig,
  type ServiceManifest,
  subjectsOverlap,
} from "@mirror/contracts";
import { repoRoot } from "./paths.js";

/** Where a service folder keeps its manifest. */
export const MANIFEST_PATH = join("src", "manifest.ts");

/** The folders under `services/` that have a manifest, sorted by name. */
export function manifestFolders(root = repoRoot): string[] {
  const dir = join(root, "services");
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((d) => existsSync(join(dir, d, MANIFEST_PATH)))
    .sort();
}

/**
 * Imports the manifests' TypeScript: the CLI is not a service, so it may read every service's
 * manifest (and nothing else of theirs) at run time. Under `pnpm mirror` tsx is loaded already;
 * under `pnpm start` (plain node) tsx's loader is registered for these imports only (one module
 * graph: @mirror/contracts is loaded once, not once per manifest). Settled one by one, so an error
 * names its file.
 */
async function importManifests(files: string[]): Promise<PromiseSettledResult<Record<string, unknown>>[]> {
  const load = () =>
    Promise.allSettled(files.map((f) => import(pathToFileURL(f).href) as Promise<Record<string, unknown>>));
  if (process.execArgv.some((a) => a.includes("tsx"))) return load();
  const { register } = (await import("tsx/esm/api")) as { register: () => () => Promise<void> };
  const unregister = register();
  try {
    return await load();
  } finally {
    await unregister();
  }
}

const sections = Object.keys((MirrorConfig as unknown as { in: { shape: Record<string, unknown> } }).in.shape);

/**
 * Every `services/<name>/src/manifest.ts`, checked one by one and together (names, ports, consumer
 * filters, requests): a new folder is found as soon as it exists. Throws a ManifestError naming the
 * file and the field.
 */
export async function loadManifests(root = repoRoot): Promise<ServiceManifest[]> {
  const out: ServiceManifest[] = [];
  const folders = manifestFolders(root);
  const abs = folders.map((folder) => join(root, "services", folder, MANIFEST_PATH));
  const loaded = await importManifests(abs);
  for (const [i, folder] of folders.entries()) {
    const file = relative(process.cwd(), abs[i] as string) || (abs[i] as string);
    const result = loaded[i] as PromiseSettledResult<Record<string, unknown>>;
    if (result.status === "rejected") {
      const err = result.reason as Error;
      if (err instanceof ManifestError || err?.name === "ManifestError") throw rebased(err as ManifestError, file);
      throw new ManifestError(file, "(module)", `cannot be loaded: ${err?.message}`);
    }
    const mod = result.value;
    const m = (mod.manifest ?? mod.default) as ServiceManifest | undefined;
    if (!m || typeof m !== "object" || typeof m.name !== "string")
      throw new ManifestError(file, "manifest", "the module must export `manifest = defineManifest({...})`");
    const checked = defineManifest({ ...m, file });
    if (checked.name !== folder)
      throw new ManifestError(
        file,
        "name",
        `"${checked.name}" must be the name of its folder, "${folder}" (pnpm start runs services/<name>/src/main.ts)`,
      );
    const section = checked.config.section.split(".")[0] ?? "";
    if (!sections.includes(section))
      throw new ManifestError(
        file,
        "config.section",
        `"${section}" is not a section of mirror.yaml (${sections.join(", ")})`,
      );
    out.push(checked);
  }
  checkMesh(out);
  return out;
}

/** A ManifestError thrown inside the module names its default path; name the real file instead. */
function rebased(err: ManifestError, file: string): ManifestError {
  const field = err.field;
  const problem = err.message.slice(`${err.file}: ${field}: `.length);
  return new ManifestError(file, field, problem);
}

/**
 * The services `pnpm start` runs without names, in start order: each after the services that
 * answer its requests, otherwise by port.
 */
export function startOrder(manifests: readonly ServiceManifest[]): ServiceManifest[] {
  const pending = manifests.filter((m) => m.startsByDefault).sort((a, b) => a.port - b.port);
  const out: ServiceManifest[] = [];
  while (pending.length) {
    const serves = (m: ServiceManifest, r: string) => m.serves.some((s) => subjectsOverlap(s, r));
    const ready =
      pending.find((m) => !pending.some((o) => o !== m && m.requests.some((r) => serves(o, r)))) ??
      (pending[0] as ServiceManifest);
    out.push(ready);
    pending.splice(pending.indexOf(ready), 1);
  }
  return out;
}

/** The names of startOrder(). */
export async function defaultServices(root = repoRoot): Promise<string[]> {
  return startOrder(await loadManifests(root)).map((m) => m.name);
}

/** One process of `pnpm start`: its name (a service's, or the manifests' shared `process`) and the services it runs. */
export interface StartProcess {
  name: string;
  services: string[];
}

/**
 * The processes `pnpm start` runs `names` in (in their order): the services whose manifests name
 * the same `process` together, each other one alone; `isolated`, one process per service.
 */
export function processesOf(
  manifests: readonly ServiceManifest[],
  names: readonly string[],
  isolated = false,
): StartProcess[] {
  const out: StartProcess[] = [];
  for (const name of names) {
    const shared = isolated ? name : (manifests.find((m) => m.name === name)?.process ?? name);
    const p = out.find((o) => o.name === shared);
    if (p) p.services.push(name);
    else out.push({ name: shared, services: [name] });
  }
  // A shared process left with one service (the others not named) runs it as its own process.
  return out.map((p) => (p.services.length === 1 ? { name: p.services[0] as string, services: p.services } : p));
}
