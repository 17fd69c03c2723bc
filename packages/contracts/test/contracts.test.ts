import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import {
  DurationError,
  fromCeHeaders,
  loopId,
  parseDuration,
  repoKey,
  subjectToken,
  toCeHeaders,
} from "@mirror/contracts";

test("durations parse with units and reject everything else with DurationError", () => {
  assert.equal(parseDuration("500ms"), 500);
  assert.equal(parseDuration("30s"), 30_000);
  assert.equal(parseDuration("5m"), 300_000);
  assert.equal(parseDuration("24h"), 86_400_000);
  assert.equal(parseDuration("7d"), 604_800_000);
  assert.equal(parseDuration("1h30m"), 5_400_000);
  assert.equal(parseDuration("0s"), 0);
  fc.assert(
    fc.property(fc.string(), (s) => {
      try {
        const v = parseDuration(s);
        return Number.isFinite(v) && v >= 0;
      } catch (err) {
        return err instanceof DurationError;
      }
    }),
  );
});

test("ids are stable, distinct per entity and subject-safe", () => {
  assert.equal(loopId("repo.dirty", "repo:/a"), loopId("repo.dirty", "repo:/a"));
  assert.notEqual(loopId("repo.dirty", "repo:/a"), loopId("repo.dirty", "repo:/b"));
  assert.notEqual(loopId("repo.dirty", "repo:/a"), loopId("repo.stash", "repo:/a"));
  fc.assert(
    fc.property(
      fc.string(),
      (p) => /^[0-9a-f]{16}$/.test(repoKey(p)) && /^[A-Za-z0-9_-]+$/.test(subjectToken(p || "x")),
    ),
  );
});

test("CloudEvents binary-mode headers round-trip and name what is missing", () => {
  const h = toCeHeaders({
    id: "1",
    source: "scanner",
    type: "mirror.repo.snapshot.v1",
    time: "2026-01-01T00:00:00.000Z",
  });
  assert.equal(h["Nats-Msg-Id"], "1");
  const back = fromCeHeaders((n) => h[n]);
  assert.equal(back.meta?.source, "scanner");
  assert.deepEqual(fromCeHeaders(() => undefined).missing.sort(), [
    "ce-id",
    "ce-source",
    "ce-specversion",
    "ce-time",
    "ce-type",
  ]);
});
