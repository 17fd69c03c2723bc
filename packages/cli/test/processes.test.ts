// Which processes `pnpm start` runs the services in: those whose manifests name the same `process`
// together, the others alone; --isolated, one each; a shared process left with one named service
// runs it under the service's own name.
import assert from "node:assert/strict";
import { test } from "node:test";
import { defineManifest, HistoryConfig } from "@mirror/contracts";
import { processesOf } from "../src/manifests.js";

const m = (name: string, port: number, process?: string) =>
  defineManifest({
    name,
    port,
    config: { section: "history", schema: HistoryConfig },
    ...(process ? { process } : {}),
  });
const manifests = [
  m("a", 9201, "front"),
  m("b", 9202, "back"),
  m("c", 9203, "front"),
  m("d", 9204),
  m("e", 9205, "back"),
];

test("services naming one process share it, in start order; the others run alone", () => {
  assert.deepEqual(processesOf(manifests, ["a", "b", "c", "d", "e"]), [
    { name: "front", services: ["a", "c"] },
    { name: "back", services: ["b", "e"] },
    { name: "d", services: ["d"] },
  ]);
});

test("--isolated: one process per service", () => {
  assert.deepEqual(
    processesOf(manifests, ["a", "b", "c"], true).map((p) => p.services),
    [["a"], ["b"], ["c"]],
  );
});

test("a shared process with one named service runs it as its own process, under its name", () => {
  assert.deepEqual(processesOf(manifests, ["a", "b", "e"]), [
    { name: "a", services: ["a"] },
    { name: "back", services: ["b", "e"] },
  ]);
});
