import assert from "node:assert/strict";
import { test } from "node:test";
import { jsonNestsDeeperThan, MAX_DEPTH, nestsDeeperThan } from "../src/depth.js";

const bytes = (text: string) => new TextEncoder().encode(text);
const nested = (levels: number) => `${"[".repeat(levels)}${"]".repeat(levels)}`;

test("JSON text nests deeper than the limit exactly when its parsed value does", () => {
  assert.equal(jsonNestsDeeperThan(bytes(nested(MAX_DEPTH))), false);
  assert.equal(jsonNestsDeeperThan(bytes(nested(MAX_DEPTH + 1))), true);
  assert.equal(jsonNestsDeeperThan(bytes(`{"a":${nested(MAX_DEPTH - 1)}}`)), false);
  assert.equal(jsonNestsDeeperThan(bytes(`{"a":${nested(MAX_DEPTH)}}`)), true);
  // Brackets and escaped quotes inside strings are text, not nesting.
  assert.equal(jsonNestsDeeperThan(bytes(JSON.stringify({ s: `\\"${"[".repeat(200)}"{{` }))), false);
  assert.equal(jsonNestsDeeperThan(bytes('"plain"')), false);
  assert.equal(jsonNestsDeeperThan(bytes("")), false);
});

test("the text check agrees with the value walk on random documents", () => {
  let seed = 42;
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const gen = (depth: number): unknown => {
    const r = random();
    if (depth > MAX_DEPTH + 6 || r < 0.15) return r < 0.07 ? 'q"[{\\]}' : 3;
    if (r < 0.6) return Array.from({ length: 1 + Math.floor(random() * 2) }, () => gen(depth + 1));
    return { k: gen(depth + 1), "}{": "]" };
  };
  let deep = 0;
  for (let i = 0; i < 2_000; i++) {
    const value = gen(0);
    const expected = nestsDeeperThan(value);
    if (expected) deep++;
    assert.equal(jsonNestsDeeperThan(bytes(JSON.stringify(value))), expected, JSON.stringify(value).slice(0, 200));
  }
  assert.ok(deep > 10, `too few deep documents generated (${deep}) for the comparison to mean anything`);
});
