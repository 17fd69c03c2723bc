import assert from "node:assert/strict";
import { test } from "node:test";
import { advisoriesFor } from "../src/secure-start.js";
import { renderRedisAcl } from "../src/identity/keys.js";
import { identitiesOf } from "@mirror/bus";
import { loadManifests } from "../src/manifests.js";

const ids = (bin: "nats-server" | "redis-server", v: string) =>
  advisoriesFor(bin, v).map((a) => `${a.id}<${a.fixedIn}`);

test("advisories: a version below its line's fix, or in a line that got none, is named with the fixed release", () => {
  assert.deepEqual(ids("nats-server", "2.9.10"), ["CVE-2025-30215<2.10.27", "CVE-2026-33222<2.11.15"]);
  assert.deepEqual(ids("nats-server", "2.10.26"), ["CVE-2025-30215<2.10.27", "CVE-2026-33222<2.11.15"]);
  assert.deepEqual(ids("nats-server", "2.11.14"), ["CVE-2026-33222<2.11.15"]);
  assert.deepEqual(ids("nats-server", "2.11.15"), []);
  assert.deepEqual(ids("nats-server", "2.12.0"), []);
  assert.deepEqual(ids("redis-server", "7.0.15"), ["CVE-2025-49844<7.2.11"]);
  assert.deepEqual(ids("redis-server", "7.2.10"), ["CVE-2025-49844<7.2.11"]);
  assert.deepEqual(ids("redis-server", "7.4.6"), []);
  assert.deepEqual(ids("redis-server", "8.2.2"), []);
});

test("users.acl: the default user closed to clients, each service limited to its own prefix, no password in clear", async () => {
  const seed = "SUAIBDPBAUTWCWBKIO6XHQNINK5FWJW4OHLXC3HQ2KFE4PEJUA44CNHTC4";
  const acl = renderRedisAcl({ scanner: seed, operator: seed }, identitiesOf(await loadManifests()));
  const lines = acl.trim().split("\n");
  assert.match(
    lines[0] ?? "",
    /^user default on #[0-9a-f]{64} resetkeys ~\* resetchannels &\* \+@all$/,
    "on for the AOF replay, with a password nobody has",
  );
  const scanner = lines.find((l) => l.startsWith("user scanner "));
  assert.match(scanner ?? "", / on #[0-9a-f]{64} resetkeys ~mirror:scanner:\* resetchannels -@all /);
  assert.match(scanner ?? "", /-@dangerous/);
  assert.ok(!lines.some((l) => l.startsWith("user operator ")), "the operator (the owner's CLI) has no Redis user");
  assert.ok(!acl.includes(seed));
});
