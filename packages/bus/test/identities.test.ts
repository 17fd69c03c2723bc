// The identity table (from the services' manifests) is what nats-server permissions and provisioned
// consumers come from; the bus refuses anything undeclared at run time, and this reads the code to
// say so before anything runs (durables, publishes, requests, endpoints).
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import {
  type DurableSpec,
  type IdentitySpec,
  identitiesOf,
  identityNamed,
  mayPublishEvent,
  permissionsOf,
  requestsOf,
  subjectMatches,
  subjectsOverlap,
} from "@mirror/bus";
import * as contracts from "@mirror/contracts";
import { REPO_ROOT } from "@mirror/testkit";
import { loadManifests } from "../../cli/src/manifests.js";

const MESH_IDENTITIES = identitiesOf(await loadManifests(REPO_ROOT));

type Contract = { filter?: string; prefix?: string; subject?: string; request?: unknown };
const exported = contracts as unknown as Record<string, Contract | undefined>;

function sources(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? sources(p) : n.endsWith(".ts") ? [p] : [];
  });
}

/** A string literal, `NAME` (const NAME = "...") or `OBJ.key` (key: "...") resolved in the same file. */
function resolveString(expr: string, text: string): string | undefined {
  const literal = /^["'`]([^"'`]+)["'`]$/.exec(expr);
  if (literal) return literal[1];
  const key = expr.split(".").pop() as string;
  return new RegExp(`(?:const\\s+${key}\\s*=|\\b${key}\\s*:)\\s*["'\`]([^"'\`]+)["'\`]`).exec(text)?.[1];
}

interface Usage {
  durables: { durable: string; contract: string }[];
  requests: string[];
  publishes: string[];
  endpoints: string[];
  readsHistory: boolean;
}

function usageOf(service: string): Usage {
  const dirs = [join(REPO_ROOT, "services", service, "src")];
  if (service.startsWith("model-")) dirs.push(join(REPO_ROOT, "packages", "model-kit", "src"));
  const u: Usage = { durables: [], requests: [], publishes: [], endpoints: [], readsHistory: false };
  for (const file of dirs.flatMap(sources)) {
    const text = readFileSync(file, "utf8");
    for (const m of text.matchAll(/\.consume\(\s*(\w+)\s*,\s*([\w.]+|"[^"]+"|'[^']+')/g)) {
      const durable = resolveString(m[2] as string, text);
      assert.ok(durable, `${file}: cannot read the durable name ${m[2]}`);
      u.durables.push({ durable, contract: m[1] as string });
    }
    for (const m of text.matchAll(/\.request\(\s*(\w+)\s*,/g)) u.requests.push(m[1] as string);
    for (const m of text.matchAll(/\bbus\.publish\(\s*(\w+)\s*,/g)) u.publishes.push(m[1] as string);
    for (const m of text.matchAll(/\bendpoint\(\s*(\w+)\s*,/g)) u.endpoints.push(m[1] as string);
    if (/\.streams\.(getMessage|info)\(|\.(lastPerSubject|reportStreams)\(/.test(text)) u.readsHistory = true;
  }
  return u;
}

const services = readdirSync(join(REPO_ROOT, "services")).filter((d) =>
  existsSync(join(REPO_ROOT, "services", d, "src", "main.ts")),
);

test("every service has an identity, and its durables, publishes, requests and endpoints are in it", () => {
  assert.ok(services.length > 0);
  for (const svc of services) {
    const spec = identityNamed(svc, MESH_IDENTITIES);
    assert.ok(spec, `services/${svc} has no manifest (services/<name>/src/manifest.ts)`);
    const u = usageOf(svc);
    const declared = spec.consumes.map((c) => c.durable).sort();
    assert.deepEqual(
      [...new Set(u.durables.map((d) => d.durable))].sort(),
      declared,
      `${svc}: durable consumers in code vs MESH_IDENTITIES`,
    );
    for (const d of u.durables) {
      const filter = exported[d.contract]?.filter;
      const entry: DurableSpec | undefined = spec.consumes.find((c) => c.durable === d.durable);
      if (filter) assert.equal(entry?.filter, filter, `${svc}: durable ${d.durable} filters ${filter}`);
    }
    assert.equal(
      spec.readsHistory === true,
      u.readsHistory,
      `${svc}: reads the stream directly in code vs readsHistory in its manifest`,
    );
    for (const name of u.requests) {
      const subject = exported[name]?.subject;
      assert.ok(subject, `${svc}: request(${name}) is not an endpoint contract`);
      assert.ok(
        requestsOf(spec, MESH_IDENTITIES).some((p) => subjectMatches(p, subject)),
        `${svc} requests ${subject} but its manifest does not allow it`,
      );
    }
    for (const name of u.publishes) {
      const prefix = exported[name]?.prefix;
      if (prefix)
        assert.ok(
          mayPublishEvent(svc, `${prefix}.x`, MESH_IDENTITIES),
          `${svc} publishes ${prefix}.* but its manifest does not allow it`,
        );
    }
    for (const name of u.endpoints) {
      const subject = exported[name]?.subject;
      assert.ok(
        subject && spec.serves.some((p) => subjectMatches(p, subject)),
        `${svc} serves ${subject ?? name} but its manifest does not say so`,
      );
    }
  }
});

test("every endpoint contract is served by some identity and no endpoint lies inside the event stream", () => {
  const endpoints = Object.values(exported).filter(
    (c): c is Contract & { subject: string } => !!c && typeof c.subject === "string" && !!c.request,
  );
  assert.ok(endpoints.length > 5);
  for (const e of endpoints) {
    assert.ok(
      MESH_IDENTITIES.some((s) => s.serves.some((p) => subjectMatches(p, e.subject))),
      `nobody serves ${e.subject}`,
    );
    assert.ok(
      !contracts.STREAM.subjects.some((s) => subjectMatches(s, e.subject)),
      `${e.subject} is inside the stream`,
    );
  }
  for (const spec of MESH_IDENTITIES) {
    for (const served of spec.serves)
      assert.ok(
        !contracts.STREAM.subjects.some((s) => subjectsOverlap(s, served)),
        `${spec.name} serves ${served} inside the stream`,
      );
  }
});

test("derived permissions: no create rights, no plain _INBOX, replies only into callers' inboxes", () => {
  for (const spec of MESH_IDENTITIES) {
    const p = permissionsOf(spec, MESH_IDENTITIES);
    const all = [...p.publish, ...p.subscribe];
    assert.ok(
      !all.some((s) => s === "_INBOX.>" || s === ">" || s.startsWith("_INBOX.")),
      `${spec.name} has a shared inbox or everything`,
    );
    assert.deepEqual(
      p.subscribe.filter((s) => s.startsWith("_INBOX")),
      [`_INBOX_${spec.name}.>`],
    );
    const admin = [
      "CONSUMER.CREATE",
      "CONSUMER.DURABLE.CREATE",
      "CONSUMER.DELETE",
      "STREAM.CREATE",
      "STREAM.UPDATE",
      "STREAM.DELETE",
      "STREAM.PURGE",
    ].map((a) => `$JS.API.${a}.>`);
    if (spec.kind !== "console")
      assert.ok(!p.publish.some((s) => admin.some((a) => subjectsOverlap(s, a))), `${spec.name} may create or delete`);
  }
  const scanner = permissionsOf(identityNamed("scanner", MESH_IDENTITIES) as never, MESH_IDENTITIES);
  assert.ok(!scanner.publish.some((s) => subjectsOverlap(s, "mirror.loop.opened.x")));
  const rules = permissionsOf(identityNamed("model-rules", MESH_IDENTITIES) as never, MESH_IDENTITIES);
  assert.ok(rules.publish.includes("_INBOX_loop-detector.>"), "the model answers the loop-detector's triage");
  assert.ok(!rules.publish.includes("_INBOX_scanner.>"), "nobody answers the scanner: it asks nothing");
  assert.ok(!rules.publish.some((s) => s.startsWith("mirror.")), "a model adapter publishes no events");
  const consoleSpec = identityNamed("console", MESH_IDENTITIES) as IdentitySpec;
  const events = (spec: IdentitySpec) =>
    permissionsOf(spec, MESH_IDENTITIES).subscribe.filter((s) => s.startsWith("mirror.") && !spec.serves.includes(s));
  assert.deepEqual(
    events(consoleSpec),
    ["mirror.loop.>", "mirror.notify.>"],
    "the console's live feeds subscribe to loop events and receipts, and to no other event",
  );
  assert.deepEqual(events(identityNamed("scanner", MESH_IDENTITIES) as IdentitySpec), [], "no watches: no event");
});
