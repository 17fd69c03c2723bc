// The service bundle cache behind `pnpm start`: reused while nothing it was built from changed,
// rebuilt when a source, a package or the lockfile did. A tiny workspace in a temp folder.
import assert from "node:assert/strict";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import { tempDir } from "@mirror/testkit";
import { serviceBundle } from "../src/bundle.js";

const root = tempDir("mirror-bundle-");
after(() => rmSync(root, { recursive: true, force: true }));

function write(path: string, text: string): void {
  mkdirSync(join(root, path, ".."), { recursive: true });
  writeFileSync(join(root, path), text);
}

test("a bundle is reused until a source, a package or the lockfile changes", async () => {
  write("services/echo/src/main.ts", 'import { word } from "dep";\nexport const said: string = word;\n');
  write("node_modules/dep/package.json", '{ "name": "dep", "main": "index.js" }\n');
  write("node_modules/dep/index.js", 'exports.word = "one";\n');
  write("pnpm-lock.yaml", "lockfileVersion: '9.0'\n");

  const first = await serviceBundle(root, ["echo"]);
  assert.equal(first.built, true);
  const again = await serviceBundle(root, ["echo"]);
  assert.deepEqual(again, { dir: first.dir, built: false }, "nothing changed: the same bundle");

  write("services/echo/src/main.ts", 'import { word } from "dep";\nexport const said: string = `${word}!`;\n');
  const afterSource = await serviceBundle(root, ["echo"]);
  assert.equal(afterSource.built, true, "a changed source rebuilds");

  write("node_modules/dep/index.js", 'exports.word = "three";\n');
  assert.equal((await serviceBundle(root, ["echo"])).built, true, "a changed package rebuilds");

  // What an upgrade or a patch does: pnpm-lock.yaml changes, the old package folder may stay.
  write("pnpm-lock.yaml", "lockfileVersion: '9.0'\npatchedDependencies: {}\n");
  assert.equal((await serviceBundle(root, ["echo"])).built, true, "a changed lockfile rebuilds");
  assert.equal((await serviceBundle(root, ["echo"])).built, false);
});
