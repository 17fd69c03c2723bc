#!/usr/bin/env node
// Runs lint, type check and every test file. Node 20 does not expand globs for `node --test`,
// so the files are listed here explicitly; zero files found is a failure, not a pass.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const only = process.argv.slice(2);

function findTests(dir) {
  if (!existsSync(dir)) return [];
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (name === "node_modules") continue;
    if (statSync(p).isDirectory()) out.push(...findTests(p));
    else if (name.endsWith(".test.ts")) out.push(p);
  }
  return out;
}

function run(title, cmd, args) {
  process.stdout.write(`\n== ${title}\n`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: "inherit" });
  if (r.status !== 0) {
    process.stdout.write(`\n${title} failed (exit ${r.status ?? r.signal})\n`);
    process.exit(r.status || 1);
  }
}

const dirs = [];
for (const group of ["packages", "services"]) {
  for (const name of readdirSync(join(root, group))) dirs.push(join(root, group, name, "test"));
}
dirs.push(join(root, "test"));
let files = dirs.flatMap(findTests).sort();
if (only.length) files = files.filter((f) => only.some((o) => f.includes(o)));
if (files.length === 0) {
  process.stderr.write("no test files found\n");
  process.exit(1);
}

if (!only.length) {
  run("lint (biome)", "pnpm", ["exec", "biome", "check", "."]);
  run("type check (tsc)", "pnpm", ["exec", "tsc", "-p", "tsconfig.json", "--noEmit"]);
}
run(`tests (${files.length} files, node ${process.version})`, process.execPath, [
  "--import",
  "tsx",
  "--test",
  "--test-concurrency=2",
  "--test-timeout=420000",
  // A file whose tests are done but that left a handle open (a socket a failed before() never
  // handed to after()) exits instead of hanging the run until CI's limit.
  "--test-force-exit",
  ...files.map((f) => f.slice(root.length)),
]);
