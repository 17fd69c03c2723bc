import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { basename, join } from "node:path";
import { test } from "node:test";
import { REPO_ROOT } from "@mirror/testkit";

// Issue 20, "stores own their keys": a service's store module is the only code naming its Redis
// keys, and Lua scripts name their keys and arguments instead of leaving KEYS[3]'s meaning to a comment.

function sources(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? sources(p) : n.endsWith(".ts") ? [p] : [];
  });
}

const all = ["packages", "services"].flatMap((g) =>
  readdirSync(join(REPO_ROOT, g)).flatMap((n) => sources(join(REPO_ROOT, g, n, "src"))),
);
const rel = (f: string) => f.slice(REPO_ROOT.length).replace(/^\//, "");

test("Lua scripts read KEYS[n] and ARGV[n] only to name them (`local loopKey = KEYS[1]`), or through defineLua", () => {
  assert.ok(all.length > 100, "the scan found the sources");
  const bad: string[] = [];
  for (const file of all) {
    if (rel(file) === "packages/kit/src/lua.ts") continue; // writes the naming preamble itself
    for (const [i, line] of readFileSync(file, "utf8").split("\n").entries()) {
      if (!/\b(KEYS|ARGV)\[\d+\]/.test(line)) continue;
      // A naming line: `local a, b = KEYS[1], ARGV[2]` and nothing else.
      if (/^\s*local [A-Za-z_][\w, ]* = ((KEYS|ARGV)\[\d+\](, )?)+\s*$/.test(line)) continue;
      if (/^\s*(\*|\/\/)/.test(line)) continue; // prose about the rule
      bad.push(`${rel(file)}:${i + 1}: ${line.trim()}`);
    }
  }
  assert.deepEqual(bad, [], "positional KEYS[n]/ARGV[n] in a script body: name them (defineLua in packages/kit)");
});

test("Redis commands with a key written in place appear only in a service's store modules", () => {
  const isStore = (f: string) => ["store.ts", "keys.ts"].includes(basename(f)) || f.endsWith("-store.ts");
  const COMMAND =
    /\b(redis|store|r|pipe)\b[\w.()]*\.(get|set|del|exists|incr|incrby|hget|hset|hsetnx|hgetall|hdel|hmget|hincrby|hvals|sadd|srem|smembers|scard|zadd|zrem|zrange|zrangebyscore|zscore|zcard|lpush|ltrim|lrange|mget|pexpire|expire)\(\s*["'`]/;
  const bad: string[] = [];
  for (const file of all.filter((f) => rel(f).startsWith("services/") && !isStore(f))) {
    for (const [i, line] of readFileSync(file, "utf8").split("\n").entries())
      if (COMMAND.test(line)) bad.push(`${rel(file)}:${i + 1}: ${line.trim()}`);
  }
  assert.deepEqual(bad, [], "a key built outside the service's store module");
});
