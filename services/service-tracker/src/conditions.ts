import { MirrorError, parseDuration } from "@mirror/contracts";
import type { ProbeKind } from "./metrics.js";

/**
 * What a condition is evaluated against: one probe's observation. Fields a probe kind does
 * not have are absent (a TCP probe has no status, a plain-HTTP probe no certificate).
 */
export interface Observation {
  latencyMs: number;
  status?: number;
  headers?: Record<string, string | string[] | undefined>;
  body?: string;
  bodyTruncated?: boolean;
  certExpiresAt?: number | null;
  /** dns: the answers as text (MX as "10 mx.example.org", SRV as "priority weight port target"). */
  answers?: string[];
  /** dns: NOERROR, NXDOMAIN, SERVFAIL, REFUSED, ... */
  rcode?: string;
  /** docker: the container's state. */
  running?: boolean;
  restarts?: number;
  /** docker: healthy, unhealthy, starting, or none (no HEALTHCHECK). */
  health?: string;
  /** icmp: percent of echo requests without a reply, and the average round trip (ms). */
  loss?: number;
  rtt?: number | null;
  domainExpiresAt?: number | null;
  now: number;
}

/** A condition that failed, with what was actually seen. */
export interface FailedCondition {
  condition: string;
  actual: string;
}

/** A parsed condition: its text, what it needs from a probe, and its test. */
export interface Condition {
  readonly text: string;
  /** Whether the probe must read the response body for it. */
  readonly needsBody: boolean;
  /** Probe kinds it applies to. */
  readonly kinds: readonly ProbeKind[];
  test(o: Observation): FailedCondition | null;
}

/** A condition that does not parse; `expression` is the text as written. */
export class ConditionError extends MirrorError {
  override name = "ConditionError";
  constructor(
    readonly expression: string,
    reason: string,
  ) {
    super("MIRROR_ERR_CONDITION", `cannot parse condition "${expression}": ${reason}`);
  }
}

type Op = "==" | "!=" | "<" | "<=" | ">" | ">=" | "contains" | "!contains" | "matches";
const SYMBOLIC = /^\s*([A-Za-z][\w.-]*|len\(body\))\s*(==|!=|<=|>=|<|>)\s*(.*?)\s*$/;
const WORDY = /^\s*([A-Za-z][\w.-]*)\s+(contains|!contains|not\s+contains|matches)\s+(.*?)\s*$/;
const SUBJECTS =
  "status, latency, body, body.<json.path>, header.<name>, cert.expiresIn, len(body) (http); answers, answers.count, rcode (dns); running, restarts, health (docker); loss, rtt (icmp); domain.expiresIn (domain)";

/** Parses one condition, e.g. `status == 200`, `latency < 500ms`, `body.status == ok`, `header.content-type contains json`. */
export function parseCondition(text: string): Condition {
  if (typeof text !== "string" || text.trim() === "") throw new ConditionError(String(text), "it is empty");
  const m = SYMBOLIC.exec(text) ?? WORDY.exec(text);
  if (!m)
    throw new ConditionError(
      text,
      `expected "<subject> <operator> <value>", e.g. "status == 200"; operators: == != < <= > >= contains !contains matches`,
    );
  const subject = m[1] as string;
  const op = (m[2] as string).replace(/^not\s+contains$/, "!contains") as Op;
  const raw = m[3] as string;
  if (raw === "") throw new ConditionError(text, "the value after the operator is missing");
  const value = unquote(raw);
  const get = getter(text, subject);
  const cmp = comparator(text, get.type, op, value);
  return {
    text,
    needsBody: get.needsBody,
    kinds: get.kinds,
    test(o) {
      const actual = get.read(o);
      if (actual.missing !== undefined) return { condition: text, actual: actual.missing };
      return cmp(actual.value) ? null : { condition: text, actual: show(actual.value) };
    },
  };
}

/** The conditions that fail for one observation. */
export function failing(conditions: readonly Condition[], o: Observation): FailedCondition[] {
  const out: FailedCondition[] = [];
  for (const c of conditions) {
    const f = c.test(o);
    if (f !== null) out.push(f);
  }
  return out;
}

/** Parses every condition of a check; the errors name the check and the expression. */
export function parseConditions(
  check: string,
  texts: readonly string[],
): { conditions: Condition[]; problems: string[] } {
  const conditions: Condition[] = [];
  const problems: string[] = [];
  texts.forEach((t, i) => {
    try {
      conditions.push(parseCondition(t));
    } catch (err) {
      problems.push(`check "${check}" conditions[${i}]: ${(err as Error).message}`);
    }
  });
  return { conditions, problems };
}

function unquote(raw: string): string {
  const q = raw[0];
  if ((q === '"' || q === "'") && raw.length >= 2 && raw[raw.length - 1] === q) return raw.slice(1, -1);
  return raw;
}

type Kind = "number" | "duration" | "text";
type Read = { value: unknown; missing?: undefined } | { missing: string; value?: undefined };
interface Getter {
  type: Kind;
  needsBody: boolean;
  kinds: readonly ProbeKind[];
  read(o: Observation): Read;
}

const HTTP = ["http"] as const;
const ALL: readonly ProbeKind[] = ["http", "tcp", "dns", "tls", "redis", "postgres", "docker", "icmp", "domain"];

/** Subjects of the newer check kinds: one field of the observation each. */
const FIELDS: Record<string, { type: Kind; kind: ProbeKind; read(o: Observation): unknown; missing: string }> = {
  answers: { type: "text", kind: "dns", read: (o) => o.answers?.join(", "), missing: "no DNS answer" },
  "answers.count": { type: "number", kind: "dns", read: (o) => o.answers?.length, missing: "no DNS answer" },
  rcode: { type: "text", kind: "dns", read: (o) => o.rcode, missing: "no DNS response code" },
  running: { type: "text", kind: "docker", read: (o) => o.running, missing: "no container state" },
  restarts: { type: "number", kind: "docker", read: (o) => o.restarts, missing: "no restart count" },
  health: { type: "text", kind: "docker", read: (o) => o.health, missing: "no health status" },
  loss: { type: "number", kind: "icmp", read: (o) => o.loss, missing: "no ping result" },
  rtt: { type: "duration", kind: "icmp", read: (o) => o.rtt ?? undefined, missing: "no echo reply" },
  "domain.expiresin": {
    type: "duration",
    kind: "domain",
    read: (o) => (o.domainExpiresAt == null ? undefined : o.domainExpiresAt - o.now),
    missing: "no expiration date",
  },
};

function getter(text: string, subject: string): Getter {
  const s = subject.toLowerCase();
  if (s === "status")
    return {
      type: "number",
      needsBody: false,
      kinds: HTTP,
      read: (o) => (o.status === undefined ? { missing: "no HTTP status" } : { value: o.status }),
    };
  if (s === "latency" || s === "response_time" || s === "responsetime")
    return { type: "duration", needsBody: false, kinds: ALL, read: (o) => ({ value: o.latencyMs }) };
  const field = FIELDS[s];
  if (field) {
    return {
      type: field.type,
      needsBody: false,
      kinds: [field.kind],
      read: (o) => {
        const v = field.read(o);
        return v === undefined ? { missing: field.missing } : { value: v };
      },
    };
  }
  if (s === "cert.expiresin" || s === "certificate_expiration") {
    return {
      type: "duration",
      needsBody: false,
      kinds: ["http", "tls"],
      read: (o) => (o.certExpiresAt == null ? { missing: "no TLS certificate" } : { value: o.certExpiresAt - o.now }),
    };
  }
  if (s === "body")
    return {
      type: "text",
      needsBody: true,
      kinds: HTTP,
      read: (o) => (o.body === undefined ? { missing: "no body" } : { value: o.body }),
    };
  if (s === "len(body)")
    return {
      type: "number",
      needsBody: true,
      kinds: HTTP,
      read: (o) => (o.body === undefined ? { missing: "no body" } : { value: Buffer.byteLength(o.body) }),
    };
  if (s.startsWith("header.") && s.length > 7) {
    const name = s.slice(7);
    return {
      type: "text",
      needsBody: false,
      kinds: HTTP,
      read: (o) => {
        const v = o.headers?.[name];
        return v === undefined ? { missing: `no ${name} header` } : { value: Array.isArray(v) ? v.join(", ") : v };
      },
    };
  }
  if (subject.startsWith("body.") && subject.length > 5) {
    const path = parsePath(text, subject.slice(5));
    return { type: "text", needsBody: true, kinds: HTTP, read: (o) => readJsonPath(o, path) };
  }
  throw new ConditionError(text, `unknown subject "${subject}"; use one of ${SUBJECTS}`);
}

function parsePath(text: string, path: string): (string | number)[] {
  const parts = path.split(".").map((p) => {
    if (p === "") throw new ConditionError(text, `empty segment in the JSON path "${path}"`);
    return /^\d+$/.test(p) ? Number(p) : p;
  });
  return parts;
}

/** JSON bodies are parsed once per observation and cached on it. */
const jsonCache = new WeakMap<Observation, { ok: true; value: unknown } | { ok: false }>();

function readJsonPath(o: Observation, path: (string | number)[]): Read {
  if (o.body === undefined) return { missing: "no body" };
  let parsed = jsonCache.get(o);
  if (!parsed) {
    try {
      parsed = { ok: true, value: JSON.parse(o.body) };
    } catch {
      parsed = { ok: false };
    }
    jsonCache.set(o, parsed);
  }
  if (!parsed.ok) return { missing: o.bodyTruncated ? "body is not JSON (truncated at maxBody)" : "body is not JSON" };
  let cur: unknown = parsed.value;
  for (const key of path) {
    if (cur === null || typeof cur !== "object" || !Object.hasOwn(cur, key))
      return { missing: `no ${path.join(".")} in the body` };
    cur = (cur as Record<string | number, unknown>)[key];
  }
  return { value: cur };
}

function show(v: unknown): string {
  const s = typeof v === "string" ? v : (JSON.stringify(v) ?? String(v));
  return s.length > 200 ? `${s.slice(0, 200)}…` : s;
}

function comparator(text: string, type: Kind, op: Op, value: string): (actual: unknown) => boolean {
  if (op === "matches") {
    let re: RegExp;
    try {
      re = new RegExp(value);
    } catch (err) {
      throw new ConditionError(text, `invalid regular expression: ${(err as Error).message}`);
    }
    return (a) => re.test(show(a));
  }
  if (op === "contains" || op === "!contains") {
    if (type !== "text") throw new ConditionError(text, `"${op}" applies to body and headers, not to numbers`);
    const want = value.toLowerCase();
    const yes = op === "contains";
    return (a) => show(a).toLowerCase().includes(want) === yes;
  }
  const expected = expectedValue(text, type, op, value);
  return (a) => compare(a, op, expected);
}

function expectedValue(text: string, type: Kind, op: Op, value: string): number | string {
  if (type === "duration") {
    if (/^\d+(\.\d+)?$/.test(value)) return Number(value);
    try {
      return parseDuration(value);
    } catch {
      throw new ConditionError(text, `"${value}" is not a duration (e.g. 500ms, 14d)`);
    }
  }
  if (type === "number") {
    if (!/^-?\d+(\.\d+)?$/.test(value)) throw new ConditionError(text, `"${value}" is not a number`);
    return Number(value);
  }
  if (op !== "==" && op !== "!=" && !/^-?\d+(\.\d+)?$/.test(value))
    throw new ConditionError(text, `"${op}" needs a number, got "${value}"`);
  return value;
}

function compare(actual: unknown, op: Op, expected: number | string): boolean {
  if (op === "==" || op === "!=") {
    const eq =
      typeof expected === "number" && typeof actual === "number"
        ? actual === expected
        : show(actual) === String(expected);
    return eq === (op === "==");
  }
  const a =
    typeof actual === "number"
      ? actual
      : typeof actual === "string" && actual.trim() !== ""
        ? Number(actual)
        : Number.NaN;
  const e = Number(expected);
  if (Number.isNaN(a)) return false;
  if (op === "<") return a < e;
  if (op === "<=") return a <= e;
  if (op === ">") return a > e;
  return a >= e;
}
