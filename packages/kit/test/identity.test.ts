import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { tempDir } from "@mirror/testkit";
import { nkeys } from "@nats-io/nats-core";
import { IdentityError, loadIdentity } from "../src/index.js";

test("a seed that looks right but does not decode is an IdentityError naming the service, not a crash", () => {
  const dir = tempDir("mirror-kit-id-");
  const good = new TextDecoder().decode(nkeys.createUser().getSeed());
  // Same alphabet and length, so it passes the format check; the last characters break the checksum.
  const bad = `${good.slice(0, -2)}${good.endsWith("AA") ? "BB" : "AA"}`;
  const file = join(dir, "scanner.nk");
  writeFileSync(file, `${bad}\n`, { mode: 0o600 });
  assert.throws(
    () => loadIdentity("scanner", file, {}),
    (err: unknown) => err instanceof IdentityError && err.code === "MIRROR_ERR_IDENTITY" && /scanner/.test(err.message),
  );
  writeFileSync(file, `${good}\n`, { mode: 0o600 });
  assert.equal(
    loadIdentity("scanner", file, {}).publicKey,
    nkeys.fromSeed(new TextEncoder().encode(good)).getPublicKey(),
  );
});
