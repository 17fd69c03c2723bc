import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { REPO_ROOT } from "@mirror/testkit";
import { renderConfigReference } from "../scripts/config-reference.js";

test("docs/CONFIG.md is generated from the current config schemas", () => {
  const current = readFileSync(`${REPO_ROOT}/docs/CONFIG.md`, "utf8");
  assert.equal(
    current,
    renderConfigReference(),
    "docs/CONFIG.md is stale: run node --import tsx scripts/config-reference.ts",
  );
});

test("the example config and the README's acceptance config are valid", async () => {
  const { parseConfig } = await import("@mirror/kit");
  assert.doesNotThrow(() => parseConfig(readFileSync(`${REPO_ROOT}/mirror.example.yaml`, "utf8"), { HOME: "/home/x" }));
});

test("no two different fields share a description by accident", async () => {
  const { configRows } = await import("../scripts/config-reference.js");
  const byMeaning = new Map<string, { key: string; field: number | undefined; from: string }[]>();
  for (const { rows } of configRows()) {
    for (const r of rows) if (r.meaning) byMeaning.set(r.meaning, [...(byMeaning.get(r.meaning) ?? []), r]);
  }
  for (const [meaning, rows] of byMeaning) {
    // The same field (a spread like the channels' common fields, a shared object) may repeat its
    // description; so may a section's own generic setting (`scanner.port`, `tracker.port`). Any
    // other description belongs to one field: a borrowed one is the "HTTP port" of a TCP check.
    const sameField = new Set(rows.map((r) => r.field)).size === 1 && rows[0]?.field !== undefined;
    const sectionGeneric = rows.every((r) => r.from === "generic" && !r.key.includes("["));
    assert.ok(
      sameField || sectionGeneric,
      `different fields share "${meaning.slice(0, 60)}": ${rows.map((r) => r.key).join(", ")}`,
    );
  }
});

test("a field inside a check or channel is described by its own schema, not by its key name", async () => {
  const { configRows } = await import("../scripts/config-reference.js");
  const rows = new Map(configRows().flatMap((s) => s.rows.map((r) => [r.key, r] as const)));
  assert.match(rows.get("tracker.checks[].tcp.port")?.meaning ?? "", /TCP port/);
  assert.match(rows.get("notifier.channels[type=email].port")?.meaning ?? "", /SMTP port/);
  assert.match(rows.get("scanner.port")?.meaning ?? "", /HTTP port of the service/);
});
