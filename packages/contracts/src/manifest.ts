import type { z } from "zod";
import { MirrorError } from "./errors.js";
import { DLQ_STREAM, STREAM } from "./mesh.js";
import { subjectMatches, subjectsOverlap, subjectWithin } from "./subjects.js";

/** The settings of a durable consumer the provisioner creates (see ConsumeOptions in @mirror/bus). */
export interface DurableOptions {
  maxDeliver?: number;
  ackWaitMs?: number;
  backoffMs?: number[];
  deliverPolicy?: "all" | "new";
}

/** One durable consumer on the MIRROR stream: its public name and subject filter. */
export interface ManifestConsumer {
  durable: string;
  filter: string;
  /** Settings the service passes to bus.consume(); the provisioner creates the consumer with them. */
  options?: DurableOptions;
}

/** What a service's `src/manifest.ts` declares: who it is and everything it may say on the bus. */
export interface ManifestSpec {
  /** The identity: connection name, CloudEvents source, credential file, Redis user. */
  name: string;
  /** Its default HTTP port (the config section's `port` default). */
  port: number;
  description?: string;
  /** Its section of mirror.yaml (`model` for model-rules) and that section's zod schema. */
  config: { section: string; schema: z.ZodType };
  /** Event subjects it publishes to JetStream (signed); its dead letters are implied when it consumes. */
  publishes?: readonly string[];
  /** Durable consumers on the MIRROR stream it reads. */
  consumes?: readonly ManifestConsumer[];
  /**
   * Event subjects it receives live, by a plain subscription it holds only while it needs them
   * (the console's live page): no durable consumer, no replay, no ack (see Bus.watch).
   */
  watches?: readonly string[];
  /** Request/reply subjects it calls (`$SRV.>` for mesh discovery). */
  requests?: readonly string[];
  /** Request/reply subjects it answers (every service also answers `$SRV.>`). */
  serves?: readonly string[];
  /** Reads stored events directly (last event per subject, stream state), to rebuild its state. */
  readsHistory?: boolean;
  /** Redis key prefix; default and only allowed value `mirror:<name>:` (its Redis user may touch only that). */
  redisPrefix?: string;
  /** Whether `pnpm start` without names runs it (default true; the paid model adapters are opt-in). */
  startsByDefault?: boolean;
  /**
   * The process `pnpm start` runs it in: the services naming the same process share one Node
   * process, each still its own member of the mesh (bus connection, identity, config section,
   * port, Redis login), as with `--single`; a crash restarts that process. Default: its own name,
   * a process of its own. Compose and `pnpm start --isolated` run one process per service.
   */
  process?: string;
  /** The manifest file, named in errors (default `services/<name>/src/manifest.ts`). */
  file?: string;
}

/** A checked, frozen manifest. */
export interface ServiceManifest extends Readonly<Required<Omit<ManifestSpec, "description">>> {
  readonly description: string | undefined;
  readonly publishes: readonly string[];
  readonly consumes: readonly ManifestConsumer[];
  readonly watches: readonly string[];
  readonly requests: readonly string[];
  readonly serves: readonly string[];
}

/** A manifest that says something impossible: names the file and the field. */
export class ManifestError extends MirrorError {
  override name = "ManifestError";
  constructor(
    readonly file: string,
    readonly field: string,
    problem: string,
  ) {
    super("MIRROR_ERR_MANIFEST", `${file}: ${field}: ${problem}`);
  }
}

const SRV = "$SRV.>";
const NAME = /^[a-z][a-z0-9-]{0,40}$/;
const SUBJECT = /^(\$[A-Z]+|[a-z][a-z0-9_-]*)(\.([A-Za-z0-9_-]+|\*|>))*$/;

function checkSubject(file: string, field: string, subject: unknown): string {
  if (typeof subject !== "string" || !SUBJECT.test(subject) || (subject.includes(">") && !subject.endsWith(">"))) {
    throw new ManifestError(file, field, `${JSON.stringify(subject)} is not a NATS subject`);
  }
  return subject;
}

function inStream(subject: string): boolean {
  return STREAM.subjects.some((s) => subjectWithin(s, subject));
}

function touchesEvents(subject: string): boolean {
  return [...STREAM.subjects, ...DLQ_STREAM.subjects].some((s) => subjectsOverlap(s, subject));
}

/**
 * Checks one manifest on its own (the mesh-wide checks are checkMesh): a name and port, event
 * subjects inside the MIRROR stream's families, consumer filters inside them too, requests and
 * endpoints outside them. Throws a ManifestError naming the file and the field.
 */
export function defineManifest(spec: ManifestSpec): ServiceManifest {
  const file = spec.file ?? `services/${spec.name}/src/manifest.ts`;
  if (typeof spec.name !== "string" || !NAME.test(spec.name))
    throw new ManifestError(file, "name", `${JSON.stringify(spec.name)} must be lower-case letters, digits and dashes`);
  if (!Number.isInteger(spec.port) || spec.port < 1 || spec.port > 65_535)
    throw new ManifestError(file, "port", `${spec.port} is not a TCP port`);
  if (!spec.config || typeof spec.config.section !== "string" || typeof spec.config.schema?.safeParse !== "function") {
    throw new ManifestError(file, "config", "needs { section, schema } (its mirror.yaml section and zod schema)");
  }
  const publishes = (spec.publishes ?? []).map((s, i) => {
    checkSubject(file, `publishes[${i}]`, s);
    if (!inStream(s))
      throw new ManifestError(
        file,
        `publishes[${i}]`,
        `${s} is not in a known event family (${STREAM.subjects.join(", ")})`,
      );
    return s;
  });
  const durables = new Set<string>();
  const consumes = (spec.consumes ?? []).map((c, i) => {
    if (!c || typeof c.durable !== "string" || !/^[A-Za-z0-9_-]+$/.test(c.durable))
      throw new ManifestError(file, `consumes[${i}].durable`, `${JSON.stringify(c?.durable)} is not a consumer name`);
    if (durables.has(c.durable))
      throw new ManifestError(file, `consumes[${i}].durable`, `${c.durable} is declared twice`);
    durables.add(c.durable);
    checkSubject(file, `consumes[${i}].filter`, c.filter);
    if (!inStream(c.filter))
      throw new ManifestError(
        file,
        `consumes[${i}].filter`,
        `${c.filter} is outside the event families (${STREAM.subjects.join(", ")})`,
      );
    return Object.freeze({ ...c });
  });
  const watches = (spec.watches ?? []).map((s, i) => {
    checkSubject(file, `watches[${i}]`, s);
    if (!inStream(s))
      throw new ManifestError(
        file,
        `watches[${i}]`,
        `${s} is outside the event families (${STREAM.subjects.join(", ")})`,
      );
    return s;
  });
  const endpoints = (field: "requests" | "serves") =>
    (spec[field] ?? []).map((s, i) => {
      checkSubject(file, `${field}[${i}]`, s);
      if (s !== SRV && s.startsWith("$"))
        throw new ManifestError(file, `${field}[${i}]`, `${s}: only ${SRV} of the system subjects`);
      if (touchesEvents(s))
        throw new ManifestError(
          file,
          `${field}[${i}]`,
          `${s} lies inside the event stream; requests and endpoints use their own subjects`,
        );
      return s;
    });
  const requests = endpoints("requests");
  const serves = endpoints("serves");
  if (serves.includes(SRV))
    throw new ManifestError(file, "serves", `${SRV} is answered by every service; do not declare it`);
  const sharedProcess = spec.process ?? spec.name;
  if (typeof sharedProcess !== "string" || !NAME.test(sharedProcess))
    throw new ManifestError(
      file,
      "process",
      `${JSON.stringify(sharedProcess)} must be lower-case letters, digits and dashes`,
    );
  const redisPrefix = spec.redisPrefix ?? `mirror:${spec.name}:`;
  if (redisPrefix !== `mirror:${spec.name}:`)
    throw new ManifestError(
      file,
      "redisPrefix",
      `must be "mirror:${spec.name}:" (its Redis user may touch only keys under its own name)`,
    );
  return Object.freeze({
    name: spec.name,
    port: spec.port,
    description: spec.description,
    config: Object.freeze({ ...spec.config }),
    publishes: Object.freeze(publishes),
    consumes: Object.freeze(consumes),
    watches: Object.freeze(watches),
    requests: Object.freeze(requests),
    serves: Object.freeze(serves),
    readsHistory: spec.readsHistory ?? false,
    redisPrefix,
    startsByDefault: spec.startsByDefault ?? true,
    process: sharedProcess,
    file,
  });
}

/** Identities that are not services but still have a key: cron jobs that check in, and the owner's CLI. */
export const NON_SERVICE_PUBLISHERS: Readonly<Record<string, readonly string[]>> = { jobs: ["mirror.heartbeat.>"] };

/**
 * Checks the manifests together: unique names, ports and durable names; no shared process named
 * after another service; every consumer filter
 * reads what some manifest (or the jobs key) publishes; every request is served by some manifest.
 */
export function checkMesh(manifests: readonly ServiceManifest[]): void {
  const names = new Map<string, ServiceManifest>();
  const ports = new Map<number, ServiceManifest>();
  const durables = new Map<string, ServiceManifest>();
  for (const m of manifests) {
    const sameName = names.get(m.name);
    if (sameName || NON_SERVICE_PUBLISHERS[m.name] || m.name === "operator") {
      throw new ManifestError(
        m.file,
        "name",
        `"${m.name}" is already taken${sameName ? ` by ${sameName.file}` : " (a built-in identity)"}`,
      );
    }
    names.set(m.name, m);
    const samePort = ports.get(m.port);
    if (samePort)
      throw new ManifestError(m.file, "port", `${m.port} is already the port of ${samePort.name} (${samePort.file})`);
    ports.set(m.port, m);
    for (const [i, c] of m.consumes.entries()) {
      const other = durables.get(c.durable);
      if (other)
        throw new ManifestError(
          m.file,
          `consumes[${i}].durable`,
          `${c.durable} is already a consumer of ${other.name} (${other.file})`,
        );
      durables.set(c.durable, m);
    }
  }
  for (const m of manifests) {
    const named = names.get(m.process);
    if (named && named !== m)
      throw new ManifestError(
        m.file,
        "process",
        `"${m.process}" is the service ${named.name} (${named.file}); a shared process takes a name no service has`,
      );
  }
  const published = [...manifests.flatMap((m) => m.publishes), ...Object.values(NON_SERVICE_PUBLISHERS).flat()];
  const served = manifests.flatMap((m) => m.serves);
  for (const m of manifests) {
    for (const [i, c] of m.consumes.entries()) {
      if (!published.some((p) => subjectsOverlap(p, c.filter)))
        throw new ManifestError(m.file, `consumes[${i}].filter`, `no manifest publishes anything matching ${c.filter}`);
    }
    for (const [i, w] of m.watches.entries()) {
      if (!published.some((p) => subjectsOverlap(p, w)))
        throw new ManifestError(m.file, `watches[${i}]`, `no manifest publishes anything matching ${w}`);
    }
    for (const [i, r] of m.requests.entries()) {
      if (r === SRV) continue;
      if (!served.some((s) => subjectsOverlap(s, r)))
        throw new ManifestError(m.file, `requests[${i}]`, `no manifest serves ${r}`);
    }
  }
}

/** Whether a manifest lets its service publish an event on `subject` (its dead letters included when it consumes). */
export function manifestPublishes(
  m: Pick<ServiceManifest, "publishes" | "consumes" | "name">,
  subject: string,
): boolean {
  if (m.consumes.length && subject === `mirror.dlq.${m.name.replace(/[^A-Za-z0-9_-]/g, "_")}`) return true;
  return m.publishes.some((p) => subjectMatches(p, subject));
}
