import { createHash } from "node:crypto";
import type { Redis } from "ioredis";

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const RESERVED = new Set(
  "and break do else elseif end false for function goto if in local nil not or repeat return then true until while KEYS ARGV redis cjson bit struct cmsgpack".split(
    " ",
  ),
);

/**
 * A Lua script for Redis whose keys and arguments have names: the body reads `loopKey`, not `KEYS[3]`
 * with its meaning left to a comment, and callers pass `{ loopKey: ... }`, so the order cannot be
 * mixed up between the script and its call.
 */
export interface LuaScript<K extends string, A extends string> {
  /** Its name, for errors and profiles. */
  readonly name: string;
  /** SHA-1 of `lua`: what EVALSHA runs once the server has the script. */
  readonly sha: string;
  readonly keys: readonly K[];
  readonly args: readonly A[];
  /** The body behind a preamble `local <key> = KEYS[i]` / `local <arg> = ARGV[i]`. */
  readonly lua: string;
}

/** Defines a script; refuses a body that still reads `KEYS[n]` or `ARGV[n]`, and names that are not Lua locals. */
export function defineLua<const K extends string, const A extends string>(
  name: string,
  spec: { keys: readonly K[]; args: readonly A[]; body: string },
): LuaScript<K, A> {
  if (/\b(KEYS|ARGV)\s*\[/.test(spec.body))
    throw new TypeError(`Lua script ${name}: read the named keys and arguments, not KEYS[n] or ARGV[n]`);
  const names = [...spec.keys, ...spec.args];
  for (const n of names) {
    if (!IDENTIFIER.test(n) || RESERVED.has(n))
      throw new TypeError(`Lua script ${name}: "${n}" cannot name a key or an argument`);
  }
  if (new Set(names).size !== names.length)
    throw new TypeError(`Lua script ${name}: a key or argument name is used twice`);
  const preamble = [
    ...spec.keys.map((k, i) => `local ${k} = KEYS[${i + 1}]`),
    ...spec.args.map((a, i) => `local ${a} = ARGV[${i + 1}]`),
  ];
  const lua = `${preamble.join("\n")}\n${spec.body}`;
  return { name, keys: spec.keys, args: spec.args, lua, sha: sha1(lua) };
}

/**
 * A script that reads `KEYS` and `ARGV` itself, for a varying number of either (a sum over as many
 * hash fields as a window has slots): run it with runLuaFlat and the number of keys.
 */
export function rawLua(name: string, lua: string): LuaScript<never, never> {
  return { name, keys: [], args: [], lua, sha: sha1(lua) };
}

function sha1(text: string): string {
  return createHash("sha1").update(text).digest("hex");
}

/** The scripts each connection has run, so the server has them: EVALSHA from then on. */
const loaded = new WeakMap<Redis, Set<string>>();

/** Runs `script` on `redis`, its keys and arguments given by name (see runLuaFlat). */
export function runLua<K extends string, A extends string>(
  redis: Redis,
  script: LuaScript<K, A>,
  keys: Record<K, string>,
  args: Record<A, string | number>,
): Promise<unknown> {
  return runLuaFlat(redis, script, [...script.keys.map((k) => keys[k]), ...script.args.map((a) => String(args[a]))]);
}

/**
 * Runs `script` with its keys and then its arguments in `flat`, in their declared order: by EVAL
 * the first time on a connection, by EVALSHA after that, and by EVAL again if the server lost it
 * (NOSCRIPT: a restart, a failover). Not ioredis' defineCommand: every auto-pipeline (one per
 * event-loop turn with a command) copies each defined command onto itself, ~1 µs of CPU and
 * garbage per script per turn in a busy service.
 */
export async function runLuaFlat(
  redis: Redis,
  script: LuaScript<string, string>,
  flat: readonly (string | number)[],
  /** How many of `flat` are keys: the script's declared keys unless it is a rawLua one. */
  numKeys = script.keys.length,
): Promise<unknown> {
  let has = loaded.get(redis);
  if (!has) {
    has = new Set();
    loaded.set(redis, has);
  }
  if (has.has(script.sha)) {
    try {
      return await redis.evalsha(script.sha, numKeys, ...flat);
    } catch (err) {
      if (!String((err as Error).message).startsWith("NOSCRIPT")) throw err;
      has.delete(script.sha);
    }
  }
  const reply = await redis.eval(script.lua, numKeys, ...flat);
  has.add(script.sha);
  return reply;
}
