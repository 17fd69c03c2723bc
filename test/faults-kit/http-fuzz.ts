// Hostile HTTP requests against every route the services serve (and some they do not).
import fc from "fast-check";
import { type Hostile, hostilePayload } from "./hostile.js";
import type { Ports, ServiceName } from "./mesh.js";
import { SERVICES } from "./mesh.js";

export interface HttpCase {
  service: ServiceName;
  method: string;
  path: string;
  body?: Hostile;
  contentType?: string;
}

/** Percent-encodes every byte, so lone surrogates, NUL and slashes stay inside one path segment. */
const encodeSegment = (s: string) =>
  [...Buffer.from(s, "utf8")].map((b) => `%${b.toString(16).padStart(2, "0")}`).join("");

const segment = fc
  .oneof(
    fc.string({ maxLength: 40, unit: "binary" }),
    fc.constantFrom(
      "..",
      "../../etc/passwd",
      "\u0000",
      "__proto__",
      "constructor",
      "prototype",
      "%",
      "x".repeat(4_000),
    ),
  )
  .map(encodeSegment);

const query = fc
  .dictionary(
    fc.constantFrom("status", "kind", "severity", "__proto__", "x"),
    fc.oneof(fc.string({ maxLength: 30 }), fc.constant("open,closed,bogus")),
    { maxKeys: 3 },
  )
  .map((q) =>
    Object.entries(q)
      .map(([k, v]) => `${k}=${encodeURIComponent(v)}`)
      .join("&"),
  );

const withBody = fc.record({
  body: hostilePayload,
  contentType: fc.constantFrom(
    "application/json",
    "text/plain",
    "application/x-www-form-urlencoded",
    "application/json; charset=utf-16",
    "multipart/form-data; boundary=x",
    undefined,
  ),
});

const loopRoutes = fc.oneof(
  query.map((q): HttpCase => ({ service: "loop-detector", method: "GET", path: `/loops?${q}` })),
  segment.map((id): HttpCase => ({ service: "loop-detector", method: "GET", path: `/loops/${id}` })),
  fc.tuple(segment, fc.constantFrom("ack", "close", "reopen", "unack", "snooze"), withBody).map(
    ([id, action, b]): HttpCase => ({
      service: "loop-detector",
      method: "POST",
      path: `/loops/${id}/${action}`,
      ...b,
    }),
  ),
);

const pingRoutes = fc
  .tuple(
    fc.constantFrom("GET", "POST"),
    segment,
    fc.option(fc.oneof(fc.constantFrom("start", "fail"), segment), { nil: undefined }),
    withBody,
  )
  .map(
    ([method, name, kind, b]): HttpCase => ({
      service: "service-tracker",
      method,
      path: kind ? `/ping/${name}/${kind}` : `/ping/${name}`,
      ...(method === "POST" ? b : {}),
    }),
  );

const anyRoute = fc
  .tuple(
    fc.constantFrom(...SERVICES),
    fc.constantFrom("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"),
    fc.constantFrom("/healthz", "/readyz", "/metrics", "/", "/loops", "/ping"),
    fc.array(segment, { maxLength: 3 }),
    withBody,
  )
  .map(
    ([service, method, base, segs, b]): HttpCase => ({
      service,
      method,
      path: [base, ...segs].join("/").replace("//", "/"),
      ...(method === "GET" || method === "HEAD" ? {} : b),
    }),
  );

export const httpCase: fc.Arbitrary<HttpCase> = fc.oneof(
  { weight: 3, arbitrary: loopRoutes },
  { weight: 2, arbitrary: pingRoutes },
  { weight: 2, arbitrary: anyRoute },
);

/** Sends one case (with the mesh's HTTP token, so bodies reach the handlers); the status and, for a 400, the reason the service gave. */
export async function send(
  ports: Ports,
  c: HttpCase,
  token?: string,
): Promise<{ status: number; reason: string | undefined }> {
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  if (c.body && c.contentType) headers["content-type"] = c.contentType;
  const res = await fetch(`http://127.0.0.1:${ports[c.service]}${c.path}`, {
    method: c.method,
    headers,
    body: c.body ? c.body.bytes : undefined,
    signal: AbortSignal.timeout(30_000),
  });
  const raw = await res.text();
  let reason: string | undefined;
  try {
    const j = JSON.parse(raw) as { error?: { message?: unknown } | string; message?: unknown };
    const m = typeof j.error === "object" ? j.error?.message : j.message;
    reason = typeof m === "string" && m.length > 0 ? m : undefined;
  } catch {
    reason = undefined;
  }
  return { status: res.status, reason };
}
