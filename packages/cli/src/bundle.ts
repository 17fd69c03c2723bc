import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { createRequire } from "node:module";
import { basename, join, relative, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { sodiumAddonFile } from "@mirror/bus/ed25519";
import type * as Esbuild from "esbuild";
import { repoRoot } from "./paths.js";

/** Bumped when the build options change, so an old cache is not reused. */
const FORMAT = 6;

/**
 * esbuild, resolved from this package (the CLI may run from a bundle under node_modules/.cache,
 * where a bare import would not find it) and loaded only when a bundle is built.
 */
async function loadEsbuild(): Promise<typeof Esbuild> {
  const path = createRequire(join(repoRoot, "packages", "cli", "package.json")).resolve("esbuild");
  return (await import(pathToFileURL(path).href)) as typeof Esbuild;
}

/** The esbuild version a bundle is stamped with, read without starting esbuild. */
function esbuildVersionOf(): string {
  try {
    const req = createRequire(join(repoRoot, "packages", "cli", "package.json"));
    return (JSON.parse(readFileSync(req.resolve("esbuild/package.json"), "utf8")) as { version: string }).version;
  } catch {
    return "unknown";
  }
}

/** The output name of the entry that runs every service in one process (`pnpm start --single`). */
export const TOGETHER = "mirror-single";

/**
 * The entry `pnpm start --single` runs: every bundled service's main module behind a dynamic
 * import (loaded only when named on the command line, else `defaults`), handed to runSingle.
 */
function togetherEntry(root: string, names: string[], defaults: string[]): string {
  const mods = names.map(
    (n) => `[${JSON.stringify(n)}, () => import(${JSON.stringify(join(root, "services", n, "src", "main.ts"))})]`,
  );
  return `import { runSingle } from ${JSON.stringify(join(repoRoot, "packages", "cli", "src", "single.ts"))};\nconst named = process.argv.slice(2);\nawait runSingle([${mods.join(", ")}], named.length ? named : ${JSON.stringify(defaults)});\n`;
}
const LOCKFILE = "pnpm-lock.yaml";

/**
 * Code bundled from CommonJS packages calls require() and reads __dirname (ioredis names it when
 * it trims an error's stack); an ES module has neither, so each output file defines them.
 */
const BANNER = [
  'import { createRequire as __mirrorRequire } from "node:module";',
  'import { fileURLToPath as __mirrorPath } from "node:url";',
  "const require = __mirrorRequire(import.meta.url);",
  "const __filename = __mirrorPath(import.meta.url);",
  'const __dirname = __mirrorPath(new URL(".", import.meta.url));',
].join(" ");

interface Stamp {
  format: number;
  esbuild: string;
  node: string;
  names: string[];
  dir: string;
  /** Every file the bundle was built from (sources and packages), with its mtime and size. */
  inputs: [path: string, mtimeMs: number, size: number][];
}

function stat(path: string): [number, number] | undefined {
  try {
    const s = statSync(path);
    return [s.mtimeMs, s.size];
  } catch {
    return undefined;
  }
}

function fresh(stamp: Stamp | undefined, root: string, cache: string, names: string[]): stamp is Stamp {
  if (!stamp || stamp.format !== FORMAT || stamp.esbuild !== esbuildVersionOf() || stamp.node !== process.version)
    return false;
  if (names.some((n) => !stamp.names.includes(n)) || !existsSync(join(cache, stamp.dir))) return false;
  return stamp.inputs.every(([path, mtime, size]) => {
    const now = stat(resolve(root, path));
    return now !== undefined && now[0] === mtime && now[1] === size;
  });
}

/**
 * Builds each service's `src/main.ts` into one ES module per service (`entries`: output name ->
 * service folder), shared code in chunks and the OpenTelemetry SDK (imported only when traces
 * are asked for) in chunks of its own, so a service runs on plain `node` without the TypeScript
 * loader. Function and class names are kept for stack traces.
 */
export async function bundleServices(
  root: string,
  entries: Record<string, string>,
  outdir: string,
  together?: { out: string; names: string[]; defaults?: string[] },
): Promise<{ inputs: Stamp["inputs"] }> {
  const esbuild = await loadEsbuild();
  const virtual = "mirror-together:entry";
  const result = await esbuild
    .build({
      entryPoints: {
        ...Object.fromEntries(
          Object.entries(entries).map(([out, n]) => [out, join(root, "services", n, "src", "main.ts")]),
        ),
        ...(together ? { [together.out]: virtual } : {}),
      },
      plugins: together
        ? [
            {
              name: "mirror-together",
              setup(b) {
                b.onResolve({ filter: /^mirror-together:entry$/ }, (a) => ({
                  path: a.path,
                  namespace: "mirror-together",
                }));
                b.onLoad({ filter: /.*/, namespace: "mirror-together" }, () => ({
                  contents: togetherEntry(root, together.names, together.defaults ?? together.names),
                  loader: "ts",
                  resolveDir: root,
                }));
              },
            },
          ]
        : [],
      absWorkingDir: root,
      outdir,
      bundle: true,
      splitting: true,
      platform: "node",
      format: "esm",
      target: "node20",
      outExtension: { ".js": ".mjs" },
      keepNames: true,
      // Without comments and indentation: V8 keeps each loaded file's source in the heap (6.1 MB of
      // large objects in the --single worker, mostly the shared chunk of zod, fastify, ioredis, ajv
      // and the NATS client), and whitespace is a third of it. Names stay (keepNames, identifiers
      // not renamed); stack traces point at bundle columns, mapped back with the maps below.
      minifyWhitespace: true,
      // Maps for NODE_OPTIONS=--enable-source-maps (stack traces at TypeScript lines; off by
      // default, see node-flags.ts); without sourcesContent, ~2 MB on disk and nothing in memory.
      sourcemap: "linked",
      sourcesContent: false,
      charset: "ascii",
      banner: { js: BANNER },
      metafile: true,
      logLevel: "silent",
    })
    // esbuild's service process (~40-240 MB) must not stay beside a running mesh.
    .finally(() => esbuild.stop());
  asciiOnly(outdir);
  // libsodium's prebuilt addon for this platform, beside the chunks: the bus signs and verifies
  // with it (packages/bus/src/ed25519.ts), and a service image then needs no node_modules for it.
  const addon = sodiumAddonFile(join(root, "packages", "bus", "package.json"));
  if (addon) copyFileSync(addon, join(outdir, basename(addon)));
  // The lockfile too: a dependency upgraded or patched is installed under a new folder of
  // node_modules/.pnpm while the old one can stay behind, so the old inputs would look unchanged.
  const inputs = Object.keys(result.metafile.inputs)
    .filter((path) => !path.startsWith("mirror-together:"))
    .map((path): Stamp["inputs"][number] => {
      const [mtime, size] = stat(resolve(root, path)) ?? [0, 0];
      return [path, mtime, size];
    });
  const lock = stat(join(root, LOCKFILE));
  return { inputs: lock ? [...inputs, [LOCKFILE, ...lock]] : inputs };
}

/**
 * V8 keeps a module's source in memory for its whole life, two bytes a character if a single
 * character is outside Latin-1 ... and one µ in a regex or an em dash in a comment is enough
 * (esbuild's `charset: ascii` leaves comments and regex literals alone). \uXXXX means the same
 * in a comment, string, template, regex or identifier, so every non-ASCII code unit is escaped.
 */
function asciiOnly(dir: string): void {
  for (const f of readdirSync(dir).filter((f) => f.endsWith(".mjs"))) {
    const file = join(dir, f);
    const text = readFileSync(file, "utf8");
    const ascii = text.replace(/[^\0-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
    if (ascii !== text) writeFileSync(file, ascii);
  }
}

/**
 * The bundle of `names` under `<root>/node_modules/.cache/mirror`, built when a source or a
 * package it was built from, or the lockfile, changed (mtime or size). Returns the folder
 * holding `<name>.mjs`.
 * Concurrent starts each build into a folder of their own and the last one names the current.
 */
export async function serviceBundle(root: string, names: string[]): Promise<{ dir: string; built: boolean }> {
  const cache = join(root, "node_modules", ".cache", "mirror");
  const stampFile = join(cache, "current.json");
  let stamp: Stamp | undefined;
  try {
    stamp = JSON.parse(readFileSync(stampFile, "utf8")) as Stamp;
  } catch {
    stamp = undefined;
  }
  if (fresh(stamp, root, cache, names)) {
    utimesSync(join(cache, stamp.dir), new Date(), new Date());
    return { dir: join(cache, stamp.dir), built: false };
  }
  mkdirSync(cache, { recursive: true });
  const dir = `services-${Date.now().toString(36)}-${process.pid}`;
  try {
    const { inputs } = await bundleServices(root, Object.fromEntries(names.map((n) => [n, n])), join(cache, dir), {
      out: TOGETHER,
      names,
    });
    const next: Stamp = {
      format: FORMAT,
      esbuild: esbuildVersionOf(),
      node: process.version,
      names,
      dir,
      inputs: inputs.map(([p, m, s]) => [relative(root, resolve(root, p)), m, s]),
    };
    writeFileSync(`${stampFile}.${process.pid}`, JSON.stringify(next));
    renameSync(`${stampFile}.${process.pid}`, stampFile);
  } catch (err) {
    rmSync(join(cache, dir), { recursive: true, force: true });
    throw err;
  }
  prune(cache, dir);
  return { dir: join(cache, dir), built: true };
}

/**
 * Marks a bundle as in use (its folder's mtime) every ten minutes while a mesh runs from it: the
 * supervisor restarts a crashed service from the bundle it started with.
 */
export function holdBundle(dir: string): void {
  const touch = () => {
    try {
      utimesSync(dir, new Date(), new Date());
    } catch {
      // removed by hand: nothing to hold
    }
  };
  setInterval(touch, 600_000).unref();
}

/** Removes bundles other than `keep` unused for an hour (see holdBundle). */
function prune(cache: string, keep: string): void {
  const hourAgo = Date.now() - 3_600_000;
  for (const d of readdirSync(cache)) {
    if (d === keep || !d.startsWith("services-")) continue;
    const s = stat(join(cache, d));
    if (s && s[0] < hourAgo) rmSync(join(cache, d), { recursive: true, force: true });
  }
}
