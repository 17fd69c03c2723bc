import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { REPO_ROOT } from "@mirror/testkit";
import { renderConfigReference } from "../scripts/config-reference.js";

test("docs/CONFIG.md is generated from the current config schemas", () => {
  const current = readFileSync(`${REPO_ROOT}/docs/CONFIG.md`, "utf8");
  assert.equal(current, renderConfigReference(), "docs/CONFIG.md is stale: run node --import tsx scripts/config-reference.ts");
});

test("the example config and the README's acceptance config are valid", async () => {
  const { parseConfig } = await import("@mirror/kit");
  assert.doesNotThrow(() => parseConfig(readFileSync(`${REPO_ROOT}/mirror.example.yaml`, "utf8"), { HOME: "/home/x" }));
});
