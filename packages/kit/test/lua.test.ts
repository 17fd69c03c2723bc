import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { defineLua, loadLua, runLua } from "@mirror/kit";
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

test("a named Lua script gets its keys and arguments by name, under the connection's key prefix", async () => {
  await redis.set("from", "10");
  // Not loaded: by EVAL; loaded: by EVALSHA under the script's name.
  assert.equal(await runLua(redis, MOVE, { toKey: "to", fromKey: "from" }, { amount: 3 }), 7);
  loadLua(redis, [MOVE]);
  assert.equal(typeof (redis as unknown as Record<string, unknown>).luaTestMove, "function");
  assert.equal(await runLua(redis, MOVE, { fromKey: "from", toKey: "to" }, { amount: 2 }), 5);
  assert.deepEqual(await redis.mget("from", "to"), ["5", "5"]);
  assert.match(MOVE.lua, /^local fromKey = KEYS\[1\]\nlocal toKey = KEYS\[2\]\nlocal amount = ARGV\[1\]\n/);
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
