import { z } from "zod";
import { duration } from "../duration.js";
import { Port } from "./port.js";

/** An HTTP(S) check. `conditions` on the check decide up/degraded; unreachable is down. */
export const HttpCheck = z.strictObject({
  url: z
    .url({ protocol: /^https?$/, error: "an http check url must be http:// or https://" })
    .describe("The http:// or https:// URL the check requests."),
  method: z.string().default("GET"),
  headers: z.record(z.string(), z.string()).default({}).describe("Extra HTTP headers on the check's request."),
  body: z.string().optional(),
  timeout: duration("10s").describe("Deadline of one request, body included; past it the probe is down."),
  followRedirects: z.boolean().default(true),
  tlsVerify: z.boolean().default(true),
  /** Read at most this many bytes of the body (the rest is discarded). Default: tracker.maxBody. */
  maxBody: z.number().int().min(0).optional(),
});

export const TcpCheck = z.strictObject({
  host: z.string().min(1).describe("Host name or address to connect to."),
  port: z
    .number()
    .int()
    .min(1)
    .max(65_535)
    .describe("TCP port to connect to on `host` (not an HTTP port of the mesh)."),
  timeout: duration("5s").describe("Deadline of the TCP connect; past it the probe is down."),
});

/** `host:port` of a DNS server: an IP address (node:dns takes no names here), port optional. */
const DnsServer = z
  .string()
  .regex(
    /^(\d{1,3}(\.\d{1,3}){3}|\[[0-9A-Fa-f:.]+\])(:\d{1,5})?$/,
    "a dns server is an IP address with an optional port, e.g. 1.1.1.1:53 or [::1]:5353",
  );

/** A DNS query; conditions on `answers`, `answers.count`, `rcode`, `latency`. */
export const DnsCheck = z.strictObject({
  name: z.string().min(1).max(253).describe("The name to resolve."),
  type: z.enum(["A", "AAAA", "CNAME", "MX", "TXT", "NS", "SRV"]).default("A").describe("The record type asked for."),
  server: DnsServer.optional().describe("The DNS server to ask (IP:port); default: the system's resolvers."),
  timeout: duration("5s").describe("Deadline of the query; past it the probe is down."),
});

/** A TLS handshake on any port (SMTPS, IMAPS, MQTT over TLS): its certificate feeds `cert.expiring`. */
export const TlsCheck = z.strictObject({
  host: z.string().min(1).describe("Host name or address of the TLS server."),
  port: z.number().int().min(1).max(65_535).describe("TLS port on `host`."),
  servername: z.string().optional().describe("The SNI name sent and verified; default: `host` when it is a name."),
  tlsVerify: z.boolean().default(true).describe("Refuse a certificate that does not verify (then the check is down)."),
  timeout: duration("10s").describe("Deadline of the connect and handshake."),
});

/** A Redis server: connect, AUTH when a password is given, PING. */
export const RedisCheck = z.strictObject({
  url: z
    .string()
    .regex(/^rediss?:\/\//, "a redis check url must be redis:// or rediss://")
    .describe(
      "redis://[user:password@]host:port; the password may come from an environment variable ($VAR in braces).",
    ),
  password: z
    .string()
    .optional()
    .describe(
      "The password, e.g. `{ secretFile: /run/secrets/redis }` or an environment variable; overrides the URL's.",
    ),
  timeout: duration("5s").describe("Deadline of connect, AUTH and PING together."),
});

/** A PostgreSQL server: connect, authenticate, SELECT 1. */
export const PostgresCheck = z.strictObject({
  url: z
    .string()
    .regex(/^postgres(ql)?:\/\//, "a postgres check url must be postgres:// or postgresql://")
    .describe(
      "postgres://user[:password]@host:port/db; the password may come from an environment variable ($VAR in braces).",
    ),
  password: z
    .string()
    .optional()
    .describe("The password, e.g. `{ secretFile: /run/secrets/pg }` or an environment variable; overrides the URL's."),
  timeout: duration("5s").describe("Deadline of connect, authentication and SELECT 1 together."),
});

/** A container through the Docker Engine API on a Unix socket; or every container labelled mirror.check=true. */
export const DockerCheck = z
  .strictObject({
    container: z.string().min(1).optional().describe("Container name or id."),
    discover: z
      .boolean()
      .default(false)
      .describe("Track every container labelled `mirror.check=true`, each as `<check>-<container>`."),
    socket: z.string().min(1).default("/var/run/docker.sock").describe("The Docker Engine API socket."),
    timeout: duration("5s").describe("Deadline of one API request."),
  })
  .superRefine((d, ctx) => {
    if ((d.container !== undefined) === d.discover)
      ctx.addIssue({ code: "custom", message: "a docker check needs exactly one of `container` or `discover: true`" });
  });

/** Echo requests through the system `ping` (iputils; needs CAP_NET_RAW or net.ipv4.ping_group_range). */
export const IcmpCheck = z.strictObject({
  host: z
    .string()
    .min(1)
    .regex(/^[A-Za-z0-9[:_][A-Za-z0-9.:_-]*$/, "an icmp host is a name or an address (it cannot start with -)")
    .describe("Host name or address to ping."),
  count: z
    .number()
    .int()
    .min(1)
    .max(20)
    .default(3)
    .describe("Echo requests per probe; conditions see `loss` (percent) and `rtt` (average)."),
  timeout: duration("10s").describe("Deadline of the whole probe."),
});

/** A domain's registration expiry through RDAP; opens `domain.expiring`; probed at most every 12h. */
export const DomainCheck = z.strictObject({
  name: z
    .string()
    .regex(/^(?=.{1,253}$)([A-Za-z0-9-]{1,63}\.)+[A-Za-z0-9-]{2,63}\.?$/, "a domain name like example.org")
    .describe("The registered domain, e.g. example.org."),
  rdap: z
    .url({ protocol: /^https?$/, error: "an rdap URL must be http:// or https://" })
    .optional()
    .describe("The RDAP service's base URL; default: the registry's, from the IANA bootstrap file."),
  timeout: duration("15s").describe("Deadline of one RDAP request."),
});

/** A job that must check in: every `every`, or at each `cron` time (in `tz`), within `grace`. */
export const HeartbeatCheck = z
  .strictObject({
    every: duration("0s").optional(),
    cron: z.string().optional(),
    tz: z.string().optional(),
    grace: duration("1m"),
  })
  .superRefine((hb, ctx) => {
    const hasEvery = hb.every !== undefined && hb.every > 0;
    if (hasEvery === (hb.cron !== undefined))
      ctx.addIssue({ code: "custom", message: "a heartbeat needs exactly one of `every` (a duration > 0) or `cron`" });
    if (hb.tz !== undefined && hb.cron === undefined)
      ctx.addIssue({ code: "custom", path: ["tz"], message: "`tz` only applies to `cron`" });
  });

/** The kinds of check, each a key of a check holding its settings. */
export const CHECK_KINDS = [
  "http",
  "tcp",
  "heartbeat",
  "dns",
  "tls",
  "redis",
  "postgres",
  "docker",
  "icmp",
  "domain",
] as const;
export type CheckKind = (typeof CHECK_KINDS)[number];

/** A probe site's name: where a service-tracker runs (`tracker.site`), as checks' `sites` name it. */
export const SiteName = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$/,
    "a site name is 1-32 letters, digits, '-' or '_', starting with a letter or digit",
  );

/** The site a tracker is at when `tracker.site` is not set (a single-site mesh is all at `home`). */
export const DEFAULT_SITE = "home";

export const CheckConfig = z
  .strictObject({
    name: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,64}$/, "a check name is 1-64 letters, digits, '-' or '_'")
      .describe("Unique check name: the tracked service's name in loops, metrics and the console."),
    interval: duration("30s").describe(
      "How often the check probes (every kind but heartbeat; a domain check at most every 12h).",
    ),
    http: HttpCheck.optional(),
    tcp: TcpCheck.optional(),
    heartbeat: HeartbeatCheck.optional(),
    dns: DnsCheck.optional(),
    tls: TlsCheck.optional(),
    redis: RedisCheck.optional(),
    postgres: PostgresCheck.optional(),
    docker: DockerCheck.optional(),
    icmp: IcmpCheck.optional(),
    domain: DomainCheck.optional(),
    /**
     * Expressions over the result, e.g. `status == 200`, `latency < 500ms`, `body.status == ok`; dns: `answers contains 10.0.0.7`,
     * `answers.count > 0`, `rcode == NOERROR`; docker: `restarts < 5`, `health == healthy`; icmp: `loss < 20`, `rtt < 50ms`;
     * tls: `cert.expiresIn > 14d`; domain: `domain.expiresIn > 30d`.
     */
    conditions: z.array(z.string()).default([]),
    dependsOn: z.array(z.string()).default([]),
    /** Consecutive failed probes before an up check turns down/degraded. Default: tracker.failureThreshold. */
    failureThreshold: z.number().int().min(1).max(100).optional(),
    /** Consecutive good probes before a failing check turns up. Default: tracker.successThreshold. */
    successThreshold: z.number().int().min(1).max(100).optional(),
    sites: z
      .array(SiteName)
      .min(1)
      .optional()
      .describe(
        "The probe sites that run this check (names from `tracker.sites`); default: every site. Not for heartbeat checks (judged at the hub site).",
      ),
    quorum: z
      .number()
      .int()
      .min(1)
      .optional()
      .describe(
        "`service.down` opens when the check is down from at least this many of its sites; default: all the sites it runs at.",
      ),
  })
  .superRefine((c, ctx) => {
    const kinds = CHECK_KINDS.filter((k) => c[k] !== undefined).length;
    if (kinds !== 1)
      ctx.addIssue({ code: "custom", message: `check "${c.name}" needs exactly one of ${CHECK_KINDS.join(", ")}` });
    if (c.interval < 100)
      ctx.addIssue({ code: "custom", path: ["interval"], message: "interval must be at least 100ms" });
  });
export type CheckConfig = z.infer<typeof CheckConfig>;

/** Which kind a (valid) check is. */
export function checkKind(c: CheckConfig): CheckKind {
  return CHECK_KINDS.find((k) => c[k] !== undefined) ?? "heartbeat";
}

/** Discovery of the mesh's own services through the NATS Services API ($SRV.PING/INFO/STATS). */
export const MeshConfig = z
  .strictObject({
    enabled: z.boolean().default(true),
    /** How long to collect replies to one round of $SRV requests. Default: min(2s, discoverEvery / 2). */
    replyWindow: duration("0s"),
    /** A member that missed this many rounds in a row is down. */
    missedRounds: z.number().int().min(1).max(100).default(2),
    /** A member down for this long is forgotten (its status turns unknown). */
    forgetAfter: duration("7d"),
  })
  .prefault({});

export const TrackerConfig = z
  .strictObject({
    port: Port.default(9102),
    checks: z.array(CheckConfig).default([]),
    discoverEvery: duration("15s"),
    mesh: MeshConfig,
    /** Probes running at once, across all checks. */
    concurrency: z.number().int().min(1).max(10_000).default(64),
    failureThreshold: z.number().int().min(1).max(100).default(2),
    successThreshold: z.number().int().min(1).max(100).default(1),
    /** Most bytes of a response body read for conditions. */
    maxBody: z
      .number()
      .int()
      .min(0)
      .default(1024 * 1024),
    /**
     * A check's status is published when it changes (state or failing conditions) and otherwise
     * again this often, as a level-triggered keep-alive: a lost status heals within it, and
     * history counts the probe results in between, one per interval, in the state they had.
     */
    resyncEvery: duration("5m"),
    /**
     * Checks due within this window run together on one wake-up: a check may start up to
     * min(coalesce, interval / 10) before its planned time, never after it, and its interval
     * still counts from the planned time (no drift). `0s` runs every check exactly on time.
     */
    coalesce: duration("1s"),
    site: SiteName.default(DEFAULT_SITE).describe(
      "The probe site this tracker runs at: it runs the checks whose `sites` name it and marks its statuses with it. Default `home`.",
    ),
    sites: z
      .array(SiteName)
      .min(1)
      .optional()
      .describe(
        "Every probe site of the mesh; the first is the hub site, where heartbeat checks and mesh discovery run. Default: [`tracker.site`].",
      ),
    siteMissed: z
      .number()
      .int()
      .min(1)
      .max(100)
      .default(2)
      .describe(
        "A site whose trackers published nothing (no status, no keep-alive) for this many `resyncEvery` intervals is unreachable: one `site.unreachable` loop (default 2 x 5m: 10 minutes).",
      ),
  })
  .prefault({})
  .superRefine((t, ctx) => {
    const seen = new Set<string>();
    t.checks.forEach((c, i) => {
      if (seen.has(c.name))
        ctx.addIssue({ code: "custom", path: ["checks", i, "name"], message: `duplicate check name "${c.name}"` });
      seen.add(c.name);
    });
    const sites = trackerSites(t);
    if (new Set(sites).size !== sites.length)
      ctx.addIssue({
        code: "custom",
        path: ["sites"],
        message: `tracker.sites names a site twice: ${sites.join(", ")}`,
      });
    if (!sites.includes(t.site))
      ctx.addIssue({
        code: "custom",
        path: ["site"],
        message: `tracker.site "${t.site}" is not one of tracker.sites (${sites.join(", ")})`,
      });
    t.checks.forEach((c, i) => {
      c.sites?.forEach((s, j) => {
        if (!sites.includes(s))
          ctx.addIssue({
            code: "custom",
            path: ["checks", i, "sites", j],
            message: `check "${c.name}": site "${s}" is not one of tracker.sites (${sites.join(", ")})`,
          });
      });
      if (c.heartbeat && c.sites)
        ctx.addIssue({
          code: "custom",
          path: ["checks", i, "sites"],
          message: `check "${c.name}" is a heartbeat: it is judged at the hub site (${sites[0]}), not per site`,
        });
      const at = checkSites(c, t);
      if (c.quorum !== undefined && c.quorum > at.length)
        ctx.addIssue({
          code: "custom",
          path: ["checks", i, "quorum"],
          message: `check "${c.name}": quorum ${c.quorum} is more than the ${at.length} site(s) it runs at (${at.join(", ")})`,
        });
    });
  });
export type TrackerConfig = z.infer<typeof TrackerConfig>;

type SitesOf = { site: string; sites?: string[] | undefined };

/** Every probe site of the mesh: `tracker.sites`, else the tracker's own site alone. */
export function trackerSites(t: SitesOf): string[] {
  return t.sites ?? [t.site];
}

/** The hub site (the first of `tracker.sites`): heartbeat checks and mesh discovery run there. */
export function hubSite(t: SitesOf): string {
  return trackerSites(t)[0] ?? DEFAULT_SITE;
}

/** The sites a check runs at: its `sites`, else every site (heartbeat checks: the hub site). */
export function checkSites(c: Pick<CheckConfig, "sites" | "heartbeat">, t: SitesOf): string[] {
  if (c.heartbeat) return [hubSite(t)];
  return c.sites ? [...new Set(c.sites)] : trackerSites(t);
}

/** The bus identity of the trackers at a remote probe site (`pnpm mirror identity add-site <site>`). */
export function siteIdentity(site: string): string {
  return `site-${site}`;
}

/** The probe site a bus identity speaks for, if it is a site identity (`site-<site>`). */
export function siteOfIdentity(identity: string): string | undefined {
  return identity.startsWith("site-") ? identity.slice(5) : undefined;
}

/** How many of its sites must see a check down before `service.down` opens: `quorum`, else all of them. */
export function checkQuorum(c: Pick<CheckConfig, "sites" | "heartbeat" | "quorum">, t: SitesOf): number {
  const n = checkSites(c, t).length;
  return Math.min(c.quorum ?? n, n);
}
