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
  /** The ioredis command name it is defined under (EVALSHA after the first call). */
  readonly name: string;
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
  return { name, keys: spec.keys, args: spec.args, lua: `${preamble.join("\n")}\n${spec.body}` };
}

type Commands = Record<string, ((...args: string[]) => Promise<unknown>) | undefined>;

/**
 * Defines the scripts on a connection (then run by EVALSHA). Call it when the store is built,
 * before any command: ioredis's auto-pipelines made before a definition do not know the command.
 */
export function loadLua(redis: Redis, scripts: readonly LuaScript<string, string>[]): void {
  const r = redis as unknown as Commands;
  for (const s of scripts)
    if (typeof r[s.name] !== "function") redis.defineCommand(s.name, { numberOfKeys: s.keys.length, lua: s.lua });
}

/** Runs `script` on `redis`, its keys and arguments given by name: by EVALSHA once loadLua() defined it there, else by EVAL. */
export function runLua<K extends string, A extends string>(
  redis: Redis,
  script: LuaScript<K, A>,
  keys: Record<K, string>,
  args: Record<A, string | number>,
): Promise<unknown> {
  const flat = [...script.keys.map((k) => keys[k]), ...script.args.map((a) => String(args[a]))];
  const run = (redis as unknown as Commands)[script.name];
  return typeof run === "function" ? run.call(redis, ...flat) : redis.eval(script.lua, script.keys.length, ...flat);
}
