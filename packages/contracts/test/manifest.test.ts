// A manifest that says something impossible is a ManifestError naming the file and the field.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  checkMesh,
  defineManifest,
  HistoryConfig,
  ManifestError,
  type ManifestSpec,
  ModelConfig,
} from "@mirror/contracts";

const base: ManifestSpec = {
  name: "thing",
  port: 9150,
  config: { section: "history", schema: HistoryConfig },
  publishes: ["mirror.service.>"],
  consumes: [{ durable: "thing-loops", filter: "mirror.loop.>" }],
  requests: ["mirror.model.>"],
  serves: ["mirror.thing.>"],
  redisPrefix: "mirror:thing:",
};

function refused(spec: Partial<ManifestSpec>, field: string, problem: RegExp) {
  assert.throws(
    () => defineManifest({ ...base, ...spec }),
    (err: unknown) => {
      assert.ok(err instanceof ManifestError, String(err));
      assert.equal(err.code, "MIRROR_ERR_MANIFEST");
      assert.equal(err.file, `services/${spec.name ?? base.name}/src/manifest.ts`);
      assert.equal(err.field, field);
      assert.match(err.message, problem);
      return true;
    },
  );
}

test("defineManifest: a good manifest is frozen with its defaults", () => {
  const m = defineManifest(base);
  assert.equal(m.file, "services/thing/src/manifest.ts");
  assert.equal(m.startsByDefault, true);
  assert.equal(m.readsHistory, false);
  assert.equal(m.process, "thing", "a process of its own unless it names a shared one");
  assert.ok(Object.isFrozen(m) && Object.isFrozen(m.publishes) && Object.isFrozen(m.consumes));
});

test("defineManifest: unknown subject families, filters outside the events, bad names, ports and prefixes", () => {
  refused({ name: "Bad Name" }, "name", /lower-case/);
  refused({ port: 70_000 }, "port", /not a TCP port/);
  refused({ publishes: ["mirror.weather.>"] }, "publishes[0]", /mirror\.weather\.> is not in a known event family/);
  refused({ publishes: ["mirror.repo.>.x"] }, "publishes[0]", /not a NATS subject/);
  refused(
    { consumes: [{ durable: "thing-x", filter: "mirror.thing.>" }] },
    "consumes[0].filter",
    /outside the event families/,
  );
  refused(
    {
      consumes: [
        { durable: "d", filter: "mirror.loop.>" },
        { durable: "d", filter: "mirror.repo.>" },
      ],
    },
    "consumes[1].durable",
    /declared twice/,
  );
  refused({ requests: ["mirror.loop.opened.x"] }, "requests[0]", /inside the event stream/);
  refused({ serves: ["$JS.API.>"] }, "serves[0]", /only \$SRV/);
  refused({ serves: ["$SRV.>"] }, "serves", /every service/);
  refused({ redisPrefix: "mirror:other:" }, "redisPrefix", /mirror:thing:/);
  refused({ config: { section: "history" } as never }, "config", /section, schema/);
  refused({ process: "Desk!" }, "process", /lower-case/);
});

test("checkMesh: duplicate names, ports and durables; filters nobody publishes; requests nobody serves", () => {
  const model = defineManifest({
    name: "model-x",
    port: 9151,
    config: { section: "model", schema: ModelConfig },
    serves: ["mirror.model.>"],
    redisPrefix: "mirror:model-x:",
  });
  const thing = defineManifest(base);
  const loops = defineManifest({
    name: "loops-x",
    port: 9152,
    config: { section: "history", schema: HistoryConfig },
    publishes: ["mirror.loop.>"],
    redisPrefix: "mirror:loops-x:",
  });
  checkMesh([model, thing, loops]);
  const mesh = (ms: ReturnType<typeof defineManifest>[]) => () => checkMesh(ms);
  assert.throws(
    mesh([model, thing, loops, defineManifest({ ...base, port: 9160, file: "services/copy/src/manifest.ts" })]),
    /services\/copy\/src\/manifest\.ts: name: "thing" is already taken by services\/thing\/src\/manifest\.ts/,
  );
  assert.throws(
    mesh([model, thing, loops, defineManifest({ ...base, name: "other", redisPrefix: "mirror:other:", consumes: [] })]),
    /services\/other\/src\/manifest\.ts: port: 9150 is already the port of thing/,
  );
  assert.throws(
    mesh([model, thing, loops, defineManifest({ ...base, name: "other", port: 9161, redisPrefix: "mirror:other:" })]),
    /consumes\[0\]\.durable: thing-loops is already a consumer of thing/,
  );
  assert.throws(
    mesh([model, thing]),
    /services\/thing\/src\/manifest\.ts: consumes\[0\]\.filter: no manifest publishes anything matching mirror\.loop\.>/,
  );
  assert.throws(
    mesh([thing, loops]),
    /services\/thing\/src\/manifest\.ts: requests\[0\]: no manifest serves mirror\.model\.>/,
  );
  assert.throws(
    mesh([
      model,
      thing,
      loops,
      defineManifest({ ...base, name: "operator", port: 9162, redisPrefix: "mirror:operator:", consumes: [] }),
    ]),
    /name: "operator" is already taken \(a built-in identity\)/,
  );
  // A shared process takes a name no service has (its log prefix and restart line would read as that service's).
  checkMesh([model, defineManifest({ ...base, process: "desk" }), defineManifest({ ...loops, process: "desk" })]);
  assert.throws(
    mesh([model, defineManifest({ ...base, process: "loops-x" }), loops]),
    /services\/thing\/src\/manifest\.ts: process: "loops-x" is the service loops-x .*a shared process takes a name no service has/,
  );
});
