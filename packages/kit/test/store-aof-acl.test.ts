import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { after, test } from "node:test";
import { startRedis, tempDir } from "@mirror/testkit";
import { nkeys } from "@nats-io/nats-core";
import { Redis } from "ioredis";
import { aclHasDefaultOff, aclUserLine, defaultUserAclLine, storePassword } from "../src/index.js";

// redis-server replays its append-only file as the default user and checks MULTI/EXEC (and the
// MULTI/EXEC it wraps a script's writes in) against that user's ACL again: with the default user
// off, a restart dropped every transaction. The users.acl that identity init writes must survive it.
test("users.acl: a service's transactions and scripts survive a Redis restart (AOF), and the default user still gets NOAUTH", async () => {
  const dir = tempDir("aof-acl-");
  const seed = new TextDecoder().decode(nkeys.createUser().getSeed());
  const acl = join(dir, "users.acl");
  writeFileSync(
    acl,
    [
      defaultUserAclLine(),
      "user health on nopass resetkeys resetchannels -@all +ping",
      aclUserLine("scanner", seed),
      "",
    ].join("\n"),
  );
  assert.equal(aclHasDefaultOff(`user default off resetkeys resetchannels -@all\n`), true);
  assert.equal(aclHasDefaultOff(defaultUserAclLine()), false);

  const redis = await startRedis({ appendonly: true, args: ["--aclfile", acl, "--appendfsync", "always"] });
  after(() => redis.dispose());
  const login = () =>
    new Redis({
      port: redis.port,
      host: "127.0.0.1",
      username: "scanner",
      password: storePassword(seed),
      lazyConnect: true,
      maxRetriesPerRequest: 1,
    });

  const a = login();
  await a.connect();
  await a.multi().set("mirror:scanner:tx", "1").hset("mirror:scanner:h", "k", "v").exec();
  await a.eval("redis.call('SET', KEYS[1], ARGV[1]); return 1", 1, "mirror:scanner:lua", "2");
  await a.set("mirror:scanner:plain", "3");
  await assert.rejects(a.set("mirror:other:x", "1"), /NOPERM/, "still limited to its own prefix");
  a.disconnect();

  await redis.restart();
  const b = login();
  await b.connect();
  try {
    assert.deepEqual(
      [
        await b.get("mirror:scanner:tx"),
        await b.hget("mirror:scanner:h", "k"),
        await b.get("mirror:scanner:lua"),
        await b.get("mirror:scanner:plain"),
      ],
      ["1", "v", "2", "3"],
      "every write is back after the restart",
    );
  } finally {
    b.disconnect();
  }
  const answer = await new Promise<string>((resolve, reject) => {
    const s = connect({ port: redis.port, host: "127.0.0.1" }, () => s.write("GET mirror:scanner:tx\r\n"));
    s.once("data", (d) => {
      resolve(String(d));
      s.destroy();
    });
    s.once("error", reject);
  });
  assert.match(answer, /^-NOAUTH/, "a connection that does not log in gets nothing");
});
