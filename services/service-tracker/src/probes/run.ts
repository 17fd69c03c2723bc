import type { CompiledCheck } from "../active.js";
import { probeContainer } from "./docker.js";
import { prepareDns, probeDns } from "./dns.js";
import type { RdapClient } from "./domain.js";
import type { HttpProber } from "./http.js";
import { probeIcmp } from "./icmp.js";
import { probePostgres } from "./postgres.js";
import { prepareRedis, probeRedis } from "./redis.js";
import type { ProbeResult } from "./result.js";
import { probeTcp } from "./tcp.js";
import { probeTls } from "./tls.js";

/** What the probes share: the HTTP connection pools, the RDAP bootstrap cache, the clock. */
export interface Prober {
  http: HttpProber;
  rdap: RdapClient;
  now: () => number;
}

/** One probe of a check, prepared once; it never throws (a failure is an unreachable result). */
export type ProbeRunner = () => Promise<ProbeResult>;

/** Builds the probe of a check from its kind's settings (the config schema says exactly one is set). */
export function prepareProbe(c: CompiledCheck, p: Prober): ProbeRunner {
  const { cfg, conditions } = c;
  const now = p.now;
  if (cfg.http) {
    const target = p.http.prepare(cfg.http, conditions);
    return () => p.http.probe(target);
  }
  if (cfg.tcp) {
    const tcp = cfg.tcp;
    return () => probeTcp(tcp, conditions, now);
  }
  if (cfg.dns) {
    const dns = cfg.dns;
    const resolver = prepareDns(dns);
    return () => probeDns(dns, resolver, conditions, now);
  }
  if (cfg.tls) {
    const tls = cfg.tls;
    return () => probeTls(tls, conditions, now);
  }
  if (cfg.redis) {
    const target = prepareRedis(cfg.redis);
    return () => probeRedis(target, conditions, now);
  }
  if (cfg.postgres) {
    const pg = cfg.postgres;
    return () => probePostgres(pg, conditions, now);
  }
  if (cfg.docker?.container) {
    const { socket, container, timeout } = cfg.docker;
    return () => probeContainer(socket, container as string, timeout, conditions, now);
  }
  if (cfg.icmp) {
    const icmp = cfg.icmp;
    return () => probeIcmp(icmp, conditions, now);
  }
  if (cfg.domain) {
    const domain = cfg.domain;
    return () => p.rdap.probe(domain, conditions);
  }
  throw new Error(`check "${cfg.name}" has no probe`);
}
