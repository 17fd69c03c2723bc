// fast-check arbitraries of hostile input: what a careless script, a fuzzer or an attacker puts on
// a subject or in an HTTP body. No generated value can pass an event schema (a body that is a
// plain heartbeat check-in goes to a heartbeat nobody configured), so each must be refused with a reason.
import fc from "fast-check";

export interface Hostile {
  label: string;
  bytes: Uint8Array;
  headers?: Record<string, string>;
}

const enc = (s: string) => new TextEncoder().encode(s);
const text =
  (label: string) =>
  (s: string): Hostile => ({ label, bytes: enc(s) });

/** Field names the event schemas use, so wrong types hit real fields. */
const FIELDS = [
  "name",
  "kind",
  "state",
  "at",
  "seq",
  "since",
  "repoKey",
  "path",
  "observedAt",
  "loop",
  "reason",
  "status",
  "id",
  "rev",
  "entity",
];
const wrongValue = fc.oneof(
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.double(),
  fc.constant({}),
);
const hugeNumber = fc.constantFrom(
  "1e400",
  "-1e400",
  "123456789012345678901234567890",
  "9007199254740993",
  "-0",
  "1e-400",
);

const deep = fc
  .integer({ min: 50, max: 100_000 })
  .map(
    (d) =>
      `{"at":${"[".repeat(d)}${"]".repeat(d)},"loop":${'{"a":'.repeat(Math.min(d, 5_000))}1${"}".repeat(Math.min(d, 5_000))}}`,
  );
const big = fc
  .constantFrom(900 * 1024, 300 * 1024)
  .map((n) => `{"name":"${"x".repeat(n)}","at":"${"y".repeat(64)}","path":"/${"z".repeat(1024)}"}`);
const nul = fc
  .string({ maxLength: 40 })
  .map((s) => `{"name":"a\\u0000${JSON.stringify(s).slice(1, -1)}","at":"\\u0000","kind":"\\u0000"}`);
const rawNul = fc.string({ maxLength: 40 }).map((s) => `{"name":"\u0000${s}"}`);
const pollution = fc.dictionary(fc.constantFrom(...FIELDS), wrongValue, { maxKeys: 4 }).map((d) => {
  const rest = JSON.stringify(d).slice(1, -1);
  return `{"__proto__":{"polluted":"yes","at":"x"},"constructor":{"prototype":{"polluted":"yes"}},"prototype":{"x":1}${rest ? `,${rest}` : ""}}`;
});
const wrongTypes = fc
  .dictionary(fc.constantFrom(...FIELDS), wrongValue, { minKeys: 1, maxKeys: 8 })
  .map((d) => JSON.stringify({ ...d, at: 0 }));
const numbers = fc.tuple(hugeNumber, hugeNumber).map(([a, b]) => `{"seq":${a},"at":${b},"rev":${a},"since":${b}}`);
const nonJson = fc
  .string({ maxLength: 200 })
  .map((s) => `{${s}`)
  .filter((s) => !parses(s));
const anyJson = fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v) ?? "null");

function parses(s: string): boolean {
  try {
    JSON.parse(s);
    return true;
  } catch {
    return false;
  }
}

/** A payload of any kind, weighted towards the cheap ones (900 KB strings are few). */
export const hostilePayload: fc.Arbitrary<Hostile> = fc.oneof(
  { weight: 1, arbitrary: fc.constant<Hostile>({ label: "empty", bytes: new Uint8Array() }) },
  { weight: 3, arbitrary: nonJson.map(text("not JSON")) },
  {
    weight: 3,
    arbitrary: fc
      .uint8Array({ minLength: 1, maxLength: 512 })
      .map((bytes): Hostile => ({ label: "random bytes", bytes })),
  },
  { weight: 3, arbitrary: anyJson.map(text("any JSON")) },
  { weight: 4, arbitrary: wrongTypes.map(text("wrong types")) },
  { weight: 2, arbitrary: deep.map(text("deep nesting")) },
  { weight: 1, arbitrary: big.map(text("900 KB string")) },
  { weight: 2, arbitrary: nul.map(text("NUL escapes")) },
  { weight: 2, arbitrary: rawNul.map(text("raw NUL")) },
  { weight: 2, arbitrary: numbers.map(text("huge numbers")) },
  { weight: 3, arbitrary: pollution.map(text("prototype pollution")) },
);

/** CloudEvents headers naming a type no consumer accepts (with a body that would be fine otherwise). */
export const unknownType: fc.Arbitrary<Hostile> = fc
  .tuple(fc.stringMatching(/^[a-z][a-z0-9.]{0,30}$/), fc.constantFrom("{}", '{"at":"2026-01-01T00:00:00Z"}', "[]"))
  .map(([type, body]) => ({
    label: "unknown CloudEvents type",
    bytes: enc(body),
    headers: { "ce-specversion": "1.0", "ce-type": `evil.${type}`, "ce-id": "fuzz", "ce-source": "fuzzer" },
  }));

/** Either kind. */
export const hostileMessage: fc.Arbitrary<Hostile> = fc.oneof(
  { weight: 5, arbitrary: hostilePayload },
  { weight: 1, arbitrary: unknownType },
);
