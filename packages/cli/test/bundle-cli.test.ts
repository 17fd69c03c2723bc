// The Dockerfile runs `pnpm mirror bundle ${SERVICE}` for every image, the cli one (compose's
// `provision`) too: that step must pass for SERVICE=cli, and still refuse a name that is nothing.
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { tempDir } from "@mirror/testkit";
import { run } from "../src/commands/bundle.js";

test("mirror bundle cli succeeds (the cli image runs its sources under tsx); an unknown name exits 2", async () => {
  const out = join(tempDir("bundle-cli-"), "dist");
  assert.equal(await run(["cli", "--out", out]), 0);
  assert.equal(await run(["no-such-service", "--out", out]), 2);
});
