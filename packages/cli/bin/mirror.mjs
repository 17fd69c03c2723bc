#!/usr/bin/env node
// `pnpm start`: the `mirror` CLI on plain node, from a bundle of packages/cli/src built on the
// first run and after a source changes (node_modules/.cache/mirror/cli-*), so that no TypeScript
// loader and no esbuild process stays beside a running mesh. Plain JavaScript, because it runs
// before anything can load TypeScript. MIRROR_FROM_SOURCE=1, or a failed build, runs the sources
// under tsx instead.
import { spawnSync } from "node:child_process";
import { readFileSync, mkdirSync, renameSync, rmSync, statSync, writeFileSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const FORMAT = 2;
const root = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const source = join(root, "packages", "cli", "src");
const cache = join(root, "node_modules", ".cache", "mirror");
const stampFile = join(cache, "cli.json");
const fromCli = createRequire(join(root, "packages", "cli", "package.json"));
// What packages/cli/src/bundle.ts gives service bundles: require() and __dirname for CommonJS code.
const BANNER = [
  'import { createRequire as __mirrorRequire } from "node:module";',
  'import { fileURLToPath as __mirrorPath } from "node:url";',
  "const require = __mirrorRequire(import.meta.url);",
  "const __filename = __mirrorPath(import.meta.url);",
  'const __dirname = __mirrorPath(new URL(".", import.meta.url));',
].join(" ");

function stat(path) {
  try {
    const s = statSync(path);
    return [s.mtimeMs, s.size];
  } catch {
    return undefined;
  }
}

function esbuildVersion() {
  return JSON.parse(readFileSync(fromCli.resolve("esbuild/package.json"), "utf8")).version;
}

/** The bundle's folder when every file it was built from is unchanged (mtime and size), and no new command appeared. */
function current() {
  let stamp;
  try {
    stamp = JSON.parse(readFileSync(stampFile, "utf8"));
  } catch {
    return undefined;
  }
  if (stamp.format !== FORMAT || stamp.node !== process.version || stamp.esbuild !== esbuildVersion()) return undefined;
  if (
    !stat(join(cache, stamp.dir, "main.mjs")) ||
    !stat(join(cache, stamp.dir, "start.mjs")) ||
    commands().join() !== stamp.commands.join()
  )
    return undefined;
  const same = stamp.inputs.every(([path, mtime, size]) => {
    const now = stat(resolve(root, path));
    return now !== undefined && now[0] === mtime && now[1] === size;
  });
  return same ? join(cache, stamp.dir) : undefined;
}

function commands() {
  return readdirSync(join(source, "commands"))
    .filter((f) => f.endsWith(".ts"))
    .sort();
}

async function build() {
  const esbuild = await import(pathToFileURL(fromCli.resolve("esbuild")).href);
  const dir = `cli-${Date.now().toString(36)}-${process.pid}`;
  mkdirSync(cache, { recursive: true });
  try {
    const result = await esbuild.build({
      // start: the process `pnpm start` keeps (start-lean.ts); main: every command, and start's preparation step.
      entryPoints: { main: join(source, "main.ts"), start: join(source, "start-lean.ts") },
      absWorkingDir: root,
      outdir: join(cache, dir),
      bundle: true,
      splitting: true,
      platform: "node",
      format: "esm",
      target: "node20",
      outExtension: { ".js": ".mjs" },
      keepNames: true,
      banner: { js: BANNER },
      // esbuild is loaded from packages/cli when services are bundled; tsx only by `node --import`.
      external: ["esbuild", "tsx"],
      define: { MIRROR_CLI_SOURCE: JSON.stringify(source) },
      metafile: true,
      logLevel: "silent",
    });
    const lock = stat(join(root, "pnpm-lock.yaml"));
    const inputs = Object.keys(result.metafile.inputs).map((p) => [
      relative(root, resolve(root, p)),
      ...(stat(resolve(root, p)) ?? [0, 0]),
    ]);
    if (lock) inputs.push(["pnpm-lock.yaml", ...lock]);
    const stamp = {
      format: FORMAT,
      node: process.version,
      esbuild: esbuildVersion(),
      dir,
      commands: commands(),
      inputs,
    };
    writeFileSync(`${stampFile}.${process.pid}`, JSON.stringify(stamp));
    renameSync(`${stampFile}.${process.pid}`, stampFile);
  } catch (err) {
    rmSync(join(cache, dir), { recursive: true, force: true });
    throw err;
  } finally {
    // Its service process must not stay beside the mesh.
    await esbuild.stop();
  }
  prune(dir);
  return join(cache, dir);
}

/** Removes CLI bundles other than `keep` older than an hour (a running mesh has loaded its own). */
function prune(keep) {
  const hourAgo = Date.now() - 3_600_000;
  for (const d of readdirSync(cache)) {
    if (d === keep || !d.startsWith("cli-")) continue;
    const s = stat(join(cache, d));
    if (s && s[0] < hourAgo) rmSync(join(cache, d), { recursive: true, force: true });
  }
}

async function fromSource() {
  // Resolved from packages/cli, which depends on tsx.
  const { register } = await import("tsx/esm/api");
  register();
  await import(pathToFileURL(join(source, "main.ts")).href);
}

/**
 * `start` builds in a child process: a build in the process that stays resident would keep
 * esbuild's module and the build's results in its heap (the `--single` supervisor measured
 * 114-136 MB after a rebuild against 107-108 MB without one).
 */
function buildApart() {
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url)], {
    env: { ...process.env, MIRROR_CLI_BUILD_ONLY: "1" },
    stdio: ["ignore", "inherit", "inherit"],
  });
  const dir = r.status === 0 ? current() : undefined;
  if (!dir) throw new Error(r.error?.message ?? `the build step exited ${r.status ?? r.signal}`);
  return dir;
}

if (process.env.MIRROR_CLI_BUILD_ONLY === "1") {
  try {
    await build();
  } catch (err) {
    process.stderr.write(`mirror: bundling the CLI failed (${err.message})\n`);
    process.exit(1);
  }
} else if (process.env.MIRROR_FROM_SOURCE === "1") {
  await fromSource();
} else {
  let dir;
  try {
    dir = current() ?? (process.argv[2] === "start" ? buildApart() : await build());
  } catch (err) {
    process.stderr.write(`mirror: bundling the CLI failed (${err.message}); running it from source with tsx\n`);
  }
  if (!dir) await fromSource();
  else if (process.argv[2] === "start") {
    const { runLean } = await import(pathToFileURL(join(dir, "start.mjs")).href);
    process.exit(await runLean(process.argv.slice(3), join(dir, "main.mjs")));
  } else await import(pathToFileURL(join(dir, "main.mjs")).href);
}
