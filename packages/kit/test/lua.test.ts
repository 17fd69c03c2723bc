import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { defineLua, runLua } from "@mirror/kit";
import { startRedis, type ServerHandle } from "@mirror/testkit";
import { Redis } from "ioredis";

let server: ServerHandle;
let redis: Redis;
before(async () => {
  server = await startRedis();
  redis = new Redis(server.url, { keyPrefix: "mirror:lua-test:" });
});
after(async () => {
  redis.disconnect();
  await server.dispose();
});

// Moves `amount` from one counter to another: which key is which only shows through the names.
const MOVE = defineLua("luaTestMove", {
  keys: ["fromKey", "toKey"],
  args: ["amount"],
  body: `
local left = redis.call('DECRBY', fromKey, amount)
redis.call('INCRBY', toKey, amount)
return left`,
});

/** How many times the server ran each of EVAL and EVALSHA (INFO commandstats). */
async function evalCalls(): Promise<{ eval: number; evalsha: number }> {
  const info = await redis.info("commandstats");
  const calls = (cmd: string) => Number(new RegExp(`cmdstat_${cmd}:calls=(\\d+)`).exec(info)?.[1] ?? 0);
  return { eval: calls("eval"), evalsha: calls("evalsha") };
}

test("a named Lua script gets its keys and arguments by name, under the connection's key prefix", async () => {
  await redis.set("from", "10");
  const before = await evalCalls();
  // The first run on a connection sends the script (EVAL), the next ones its hash (EVALSHA).
  assert.equal(await runLua(redis, MOVE, { toKey: "to", fromKey: "from" }, { amount: 3 }), 7);
  assert.equal(await runLua(redis, MOVE, { fromKey: "from", toKey: "to" }, { amount: 2 }), 5);
  const after = await evalCalls();
  assert.deepEqual(
    { eval: after.eval - before.eval, evalsha: after.evalsha - before.evalsha },
    { eval: 1, evalsha: 1 },
  );
  assert.deepEqual(await redis.mget("from", "to"), ["5", "5"]);
  assert.match(MOVE.lua, /^local fromKey = KEYS\[1\]\nlocal toKey = KEYS\[2\]\nlocal amount = ARGV\[1\]\n/);
  // Not an ioredis command: auto-pipelines do not copy it onto themselves.
  assert.equal((redis as unknown as Record<string, unknown>)[MOVE.name], undefined);
});

test("a script the server lost (restart, failover, SCRIPT FLUSH) is sent again", async () => {
  await redis.set("from", "4");
  assert.equal(await runLua(redis, MOVE, { fromKey: "from", toKey: "to" }, { amount: 1 }), 3);
  await redis.script("FLUSH");
  assert.equal(await runLua(redis, MOVE, { fromKey: "from", toKey: "to" }, { amount: 1 }), 2);
  assert.equal(await runLua(redis, MOVE, { fromKey: "from", toKey: "to" }, { amount: 1 }), 1);
});

test("a body that reads KEYS[n] or ARGV[n], or a name that is no Lua local, is refused where it is defined", () => {
  assert.throws(
    () => defineLua("bad1", { keys: ["a"], args: [], body: "return redis.call('GET', KEYS[1])" }),
    /KEYS\[n\]/,
  );
  assert.throws(() => defineLua("bad2", { keys: ["a"], args: ["b"], body: "return ARGV [1]" }), /ARGV\[n\]/);
  assert.throws(() => defineLua("bad3", { keys: ["end"], args: [], body: "return 1" }), /"end" cannot name/);
  assert.throws(() => defineLua("bad4", { keys: ["loop-key"], args: [], body: "return 1" }), /"loop-key" cannot name/);
  assert.throws(() => defineLua("bad5", { keys: ["a"], args: ["a"], body: "return 1" }), /used twice/);
});
