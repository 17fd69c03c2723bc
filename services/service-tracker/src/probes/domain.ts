import type { z } from "zod";
import type { DomainCheck } from "@mirror/contracts";
import { type Condition, failing } from "../conditions.js";
import { describeError } from "./errors.js";
import { type ProbeResult, unreachable } from "./result.js";

export type DomainCheckConfig = z.infer<typeof DomainCheck>;

/** IANA's RDAP bootstrap registry for domain names (RFC 9224). */
export const IANA_DNS_BOOTSTRAP = "https://data.iana.org/rdap/dns.json";

/** A domain check is probed at most this often: RDAP services rate-limit, and expiry moves in days. */
export const DOMAIN_MIN_INTERVAL = 12 * 3_600_000;
/** After a failed probe, the next try comes sooner than 12h, but not sooner than this. */
export const DOMAIN_RETRY = 3_600_000;

const MAX_ANSWER = 1024 * 1024;
const BOOTSTRAP_TTL = 24 * 3_600_000;

/**
 * Looks up registrations over RDAP (RFC 9083): the TLD's RDAP service from the IANA bootstrap
 * file (fetched once a day, shared by every domain check) or a check's own `rdap` URL.
 */
export class RdapClient {
  private bootstrap: { at: number; services: [string[], string[]][] } | null = null;

  constructor(private readonly opts: { bootstrapUrl?: string; now: () => number }) {}

  async probe(cfg: DomainCheckConfig, conditions: readonly Condition[]): Promise<ProbeResult> {
    const started = performance.now();
    const name = cfg.name.toLowerCase().replace(/\.$/, "");
    let base: string;
    try {
      base = cfg.rdap ?? (await this.serviceFor(name, cfg.timeout));
    } catch (err) {
      return unreachable(started, (err as Error).message);
    }
    const url = `${base.replace(/\/+$/, "")}/domain/${encodeURIComponent(name)}`;
    const got = await getJson(url, cfg.timeout);
    if ("error" in got) return unreachable(started, `RDAP ${url}: ${got.error}`);
    const latencyMs = performance.now() - started;
    const answer = got.json as { objectClassName?: unknown; events?: unknown; entities?: unknown };
    if (typeof answer !== "object" || answer === null || Array.isArray(answer))
      return unreachable(started, `RDAP ${url}: the answer is not an RDAP object`);
    const expiry = Array.isArray(answer.events)
      ? (answer.events as { eventAction?: unknown; eventDate?: unknown }[]).find(
          (e) => e?.eventAction === "expiration" && typeof e.eventDate === "string",
        )
      : undefined;
    const expiresAt = expiry ? Date.parse(expiry.eventDate as string) : Number.NaN;
    if (Number.isNaN(expiresAt)) {
      const why = expiry
        ? `an expiration date RDAP gives as ${JSON.stringify(String(expiry.eventDate).slice(0, 40))}`
        : "no expiration event";
      return {
        reachable: true,
        unknown: true,
        latencyMs,
        error: `RDAP has ${why} for ${name}`,
        failed: [],
        cert: null,
        details: { rdap: base },
      };
    }
    const registrar = registrarOf(answer.entities);
    const domain = { name, expiresAt: new Date(expiresAt).toISOString(), registrar };
    const failed = failing(conditions, { latencyMs, domainExpiresAt: expiresAt, now: this.opts.now() });
    return {
      reachable: true,
      latencyMs,
      error: null,
      failed,
      cert: null,
      domain,
      details: { rdap: base, expiresAt: domain.expiresAt },
    };
  }

  /** The RDAP base URL of the longest TLD suffix of `name` the bootstrap file lists. */
  private async serviceFor(name: string, timeout: number): Promise<string> {
    const now = this.opts.now();
    if (!this.bootstrap || now - this.bootstrap.at > BOOTSTRAP_TTL) {
      const src = this.opts.bootstrapUrl ?? IANA_DNS_BOOTSTRAP;
      const got = await getJson(src, timeout);
      if ("error" in got) throw new Error(`RDAP bootstrap ${src}: ${got.error}`);
      const services = (got.json as { services?: unknown })?.services;
      if (!Array.isArray(services)) throw new Error(`RDAP bootstrap ${src}: no "services" list`);
      this.bootstrap = {
        at: now,
        services: services.filter(
          (s): s is [string[], string[]] => Array.isArray(s) && Array.isArray(s[0]) && Array.isArray(s[1]),
        ),
      };
    }
    const labels = name.split(".");
    for (let i = 1; i < labels.length; i++) {
      const suffix = labels.slice(i).join(".");
      const hit = this.bootstrap.services.find(([tlds]) =>
        tlds.some((t) => typeof t === "string" && t.toLowerCase() === suffix),
      );
      const url =
        hit?.[1].find((u) => typeof u === "string" && u.startsWith("https://")) ??
        hit?.[1].find((u) => typeof u === "string");
      if (url) return url;
    }
    throw new Error(`no RDAP service for ${name} in the IANA bootstrap file; set domain.rdap`);
  }
}

/** The registrar's name from an RDAP entity's jCard `fn`, when the answer gives one. */
function registrarOf(entities: unknown): string | null {
  if (!Array.isArray(entities)) return null;
  for (const e of entities as { roles?: unknown; vcardArray?: unknown }[]) {
    if (!Array.isArray(e?.roles) || !e.roles.includes("registrar") || !Array.isArray(e.vcardArray)) continue;
    const props = e.vcardArray[1];
    if (!Array.isArray(props)) continue;
    const fn = props.find((p): p is unknown[] => Array.isArray(p) && p[0] === "fn");
    if (fn && typeof fn[3] === "string") return fn[3].slice(0, 200);
  }
  return null;
}

async function getJson(url: string, timeout: number): Promise<{ json: unknown } | { error: string }> {
  try {
    const res = await fetch(url, {
      headers: { accept: "application/rdap+json, application/json" },
      signal: AbortSignal.timeout(timeout),
      redirect: "follow",
    });
    if (res.status === 404) return { error: "not found (HTTP 404)" };
    const type = res.headers.get("content-type") ?? "";
    const text = await readCapped(res);
    if (!res.ok) return { error: `HTTP ${res.status}` };
    try {
      return { json: JSON.parse(text) };
    } catch {
      return {
        error: `the answer is not JSON (${type || "no content-type"}${text ? `, starts ${JSON.stringify(text.slice(0, 30))}` : ", empty"})`,
      };
    }
  } catch (err) {
    const e = err as Error;
    if (e.name === "TimeoutError" || e.name === "AbortError") return { error: `timed out after ${timeout}ms` };
    return { error: describeError(e, new URL(url).hostname) };
  }
}

async function readCapped(res: Response): Promise<string> {
  if (!res.body) return "";
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const c of res.body) {
    size += c.length;
    if (size > MAX_ANSWER) break;
    chunks.push(c);
  }
  return Buffer.concat(chunks).toString("utf8");
}
