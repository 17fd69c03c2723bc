// The bus builds and reads NATS headers without nats.js' per-call lookups; what it accepts and
// answers must stay what nats.js' own set() and get() do.
import assert from "node:assert/strict";
import { test } from "node:test";
import { headers, MsgHdrsImpl } from "@nats-io/nats-core";
import { headerOf, natsHeadersOf } from "../src/headers.js";

test("natsHeadersOf encodes as set() does, and refuses what set() refuses", () => {
  const record = { "ce-id": "e-1", "ce-source": " scanner ", traceparent: "00-abc-def-01", "Nats-Msg-Id": "m-1" };
  const ours = natsHeadersOf(record);
  const theirs = headers();
  for (const [k, v] of Object.entries(record)) theirs.set(k, v);
  assert.deepEqual(Buffer.from((ours as MsgHdrsImpl).encode()), Buffer.from((theirs as MsgHdrsImpl).encode()));
  for (const bad of [
    { "ce-id": "a\r\nX-Injected: 1" },
    { "ce-id": "a\nb" },
    { "bad name": "v" },
    { "a:b": "v" },
  ] as Record<string, string>[])
    assert.throws(
      () => natsHeadersOf(bad),
      (err: Error) => /header/i.test(err.message),
      JSON.stringify(bad),
    );
});

test("headerOf answers as get() does: exact name, first value, undefined when absent or empty", () => {
  const h = MsgHdrsImpl.decode((natsHeadersOf({ "ce-type": "t", "ce-id": "" }) as MsgHdrsImpl).encode());
  h.append("ce-type", "second");
  assert.equal(headerOf(h, "ce-type"), h.get("ce-type"));
  assert.equal(headerOf(h, "ce-type"), "t");
  assert.equal(headerOf(h, "CE-TYPE"), undefined, "names match exactly, as get()'s default does");
  assert.equal(headerOf(h, "ce-id"), undefined);
  assert.equal(headerOf(h, "missing"), undefined);
  assert.equal(headerOf(undefined, "ce-type"), undefined);
});

test("decode (patches/: without append()'s lookups) gives what append() gives, and refuses a bad name", () => {
  const wire = (lines: string[]) => new TextEncoder().encode(`NATS/1.0\r\n${lines.join("\r\n")}\r\n\r\n`);
  const decoded = MsgHdrsImpl.decode(wire(["ce-id: a", "ce-type:  t ", "ce-id: b", "Nats-Msg-Id: m"]));
  const appended = new MsgHdrsImpl();
  for (const [k, v] of [
    ["ce-id", "a"],
    ["ce-type", "t"],
    ["ce-id", "b"],
    ["Nats-Msg-Id", "m"],
  ] as const)
    appended.append(k, v);
  assert.ok(decoded.equals(appended), `${decoded.toString()} != ${appended.toString()}`);
  assert.deepEqual(decoded.values("ce-id"), ["a", "b"]);
  assert.throws(() => MsgHdrsImpl.decode(wire(["bad name: v"])), /not a valid character/);
});
