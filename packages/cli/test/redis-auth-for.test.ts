// How `pnpm start` decides how the services log in to a Redis it did not start: as their own ACL
// users when that Redis knows this identity folder's users, else by store.url, with a warning
// that names what is wrong (a Redis open to anyone, or one that wants a login it was not given).
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { createUserKey, type IdentitySpec } from "@mirror/bus";
import { type ServerHandle, startRedis, tempDir } from "@mirror/testkit";
import { renderRedisAcl } from "../src/identity/keys.js";
import { redisAuthFor } from "../src/secure-start.js";

const table: IdentitySpec[] = [{ name: "scanner", publishes: [], consumes: [], requests: [], serves: [] }];

function identityFolder(): { dir: string; acl: string } {
  const dir = tempDir("mirror-auth-for-");
  mkdirSync(dir, { recursive: true });
  const { seed } = createUserKey();
  writeFileSync(join(dir, "scanner.nk"), seed, { mode: 0o600 });
  const acl = join(dir, "users.acl");
  writeFileSync(acl, renderRedisAcl({ scanner: seed }, table));
  return { dir, acl };
}

const mine = identityFolder();
const other = identityFolder();
let withAcl: ServerHandle;
let open: ServerHandle;
before(async () => {
  [withAcl, open] = await Promise.all([startRedis({ args: ["--aclfile", mine.acl] }), startRedis()]);
});
after(async () => {
  await Promise.all([withAcl?.dispose(), open?.dispose()]);
});

test("a Redis that knows the folder's users: identity, nothing to warn about", async () => {
  const warnings: string[] = [];
  assert.equal(await redisAuthFor("127.0.0.1", withAcl.port, mine.dir, table, (m) => warnings.push(m)), "identity");
  assert.deepEqual(warnings, []);
});

test("a Redis made from another identity folder: url, and a warning that it wants a login it does not get", async () => {
  const warnings: string[] = [];
  assert.equal(await redisAuthFor("127.0.0.1", withAcl.port, other.dir, table, (m) => warnings.push(m)), "url");
  assert.equal(warnings.length, 1);
  assert.match(warnings[0] ?? "", /requires a login and does not know the users of /);
  assert.ok(warnings[0]?.includes(join(other.dir, "users.acl")));
});

test("a Redis open to anyone: url, and the warning that any local process can change the state", async () => {
  const warnings: string[] = [];
  assert.equal(await redisAuthFor("127.0.0.1", open.port, mine.dir, table, (m) => warnings.push(m)), "url");
  assert.equal(warnings.length, 1);
  assert.match(warnings[0] ?? "", /lets any client in through its default user/);
});
