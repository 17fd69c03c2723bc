import { Resolver } from "node:dns/promises";
import type { z } from "zod";
import type { DnsCheck } from "@mirror/contracts";
import { type Condition, failing } from "../conditions.js";
import { type ProbeResult, unreachable } from "./result.js";

export type DnsCheckConfig = z.infer<typeof DnsCheck>;

/** c-ares codes that are the server's answer (a response code), not a failure to get one. */
const RCODES: Record<string, string> = {
  ENODATA: "NOERROR",
  ENOTFOUND: "NXDOMAIN",
  ESERVFAIL: "SERVFAIL",
  EREFUSED: "REFUSED",
  ENOTIMP: "NOTIMP",
  EFORMERR: "FORMERR",
};

const FAILURES: Record<string, string> = {
  ETIMEOUT: "no answer from the DNS server",
  ECONNREFUSED: "the DNS server refused the connection",
  EBADRESP: "malformed DNS response",
  EBADFAMILY: "unsupported address family",
  ECANCELLED: "query cancelled",
};

/** A check's resolver, built once: its own server list, one try per probe (the scheduler retries). */
export function prepareDns(cfg: DnsCheckConfig): Resolver {
  const resolver = new Resolver({ timeout: cfg.timeout, tries: 1 });
  if (cfg.server) resolver.setServers([cfg.server]);
  return resolver;
}

/** Asks once: an answer (any rcode) is reachable and goes to the conditions; no answer is down. */
export async function probeDns(
  cfg: DnsCheckConfig,
  resolver: Resolver,
  conditions: readonly Condition[],
  now: () => number,
): Promise<ProbeResult> {
  const started = performance.now();
  let answers: string[];
  let rcode = "NOERROR";
  let timer: NodeJS.Timeout | undefined;
  try {
    const deadline = new Promise<never>((_r, reject) => {
      timer = setTimeout(() => {
        resolver.cancel();
        reject(Object.assign(new Error("timeout"), { code: "ETIMEOUT" }));
      }, cfg.timeout + 100);
    });
    answers = render(cfg.type, await Promise.race([resolver.resolve(cfg.name, cfg.type), deadline]));
  } catch (err) {
    const code = (err as { code?: string }).code ?? "";
    const r = RCODES[code];
    if (!r)
      return unreachable(
        started,
        `${FAILURES[code] ?? (err as Error).message} (${code || "error"}) asking ${cfg.server ?? "the system resolver"} for ${cfg.name} ${cfg.type}`,
      );
    rcode = r;
    answers = [];
  } finally {
    clearTimeout(timer);
  }
  const latencyMs = performance.now() - started;
  const failed = failing(conditions, { latencyMs, answers, rcode, now: now() });
  return {
    reachable: true,
    latencyMs,
    error: null,
    failed,
    cert: null,
    details: { rcode, answers: answers.slice(0, 20) },
  };
}

/** Every record as one line of text, the way `dig +short` shows it. */
function render(type: DnsCheckConfig["type"], records: unknown): string[] {
  if (!Array.isArray(records)) return [];
  return records.map((r) => {
    if (typeof r === "string") return r;
    if (type === "TXT" && Array.isArray(r)) return r.join("");
    const o = r as Record<string, unknown>;
    if (type === "MX") return `${o.priority} ${o.exchange}`;
    if (type === "SRV") return `${o.priority} ${o.weight} ${o.port} ${o.name}`;
    return JSON.stringify(r);
  });
}
