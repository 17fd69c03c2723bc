import type { Loop } from "@mirror/contracts";
import { clean, field, num, text, time } from "./evidence.js";
import type { DescribeContext, Description } from "./repo-kinds.js";
import { age } from "./words.js";

type Describe = (loop: Loop, name: string, ctx: DescribeContext) => Description;

const sinceOf = (loop: Loop, ...names: string[]) => time(loop, ...names) ?? Date.parse(loop.openedAt);

const down: Describe = (loop, name, { now }) => {
  const since = sinceOf(loop, "since");
  const reason = text(loop, "reason");
  const mesh = text(loop, "kind") === "mesh";
  return {
    summary: `${name} has been down for ${age(now - since)}${reason ? `: ${reason}` : ""}`,
    nextAction: mesh
      ? `Check its process (\`pnpm start ${name}\` or its container logs); the mesh no longer hears it on the bus.`
      : `Check whether ${name} runs and answers locally, then look at its logs for the last restart or crash.`,
    since,
  };
};

const degraded: Describe = (loop, name, { now }) => {
  const since = sinceOf(loop, "since");
  const failed = field(loop, "failedConditions");
  const conditions = Array.isArray(failed)
    ? failed
        .map((c) => (c && typeof c === "object" ? (c as { condition?: unknown }).condition : undefined))
        .filter((c): c is string => typeof c === "string")
        .slice(0, 3)
    : [];
  const reason = conditions.length ? `failing ${conditions.join(", ")}` : text(loop, "reason");
  return {
    summary: `${name} is degraded for ${age(now - since)}${reason ? `: ${reason}` : ""}`,
    nextAction: `It answers but not as expected: compare its response with the check's conditions and look at its logs.`,
    since,
  };
};

const heartbeatMissed: Describe = (loop, name, { now }) => {
  const last = time(loop, "heartbeat.lastPingAt", "lastPingAt");
  const since = sinceOf(loop, "heartbeat.expectedBy", "expectedBy", "since");
  const failed = field(loop, "heartbeat.failed", "failed") === true;
  return {
    summary: failed
      ? `${name} reported a failure${last ? ` ${age(now - last)} ago` : ""}`
      : `${name} has not checked in for ${last ? age(now - last) : "a while"} (expected ${age(now - since)} ago)`,
    nextAction: `Look at the job's last run (cron log, systemd journal) and run it by hand once; it pings when it finishes.`,
    since,
  };
};

const certExpiring: Describe = (loop, name, { now }) => {
  const expires = time(loop, "cert.expiresAt", "expiresAt");
  const days = num(loop, "daysLeft");
  const left = expires !== undefined ? expires - now : days !== undefined ? days * 86_400_000 : undefined;
  const when = left === undefined ? "soon" : left <= 0 ? `${age(-left)} ago` : `in ${age(left)}`;
  return {
    summary: `The TLS certificate of ${name} ${left !== undefined && left <= 0 ? "expired" : "expires"} ${when}`,
    nextAction: `Renew it (e.g. \`certbot renew\` or your proxy's ACME settings) and reload the server that serves it.`,
    since: Date.parse(loop.openedAt),
  };
};

const domainExpiring: Describe = (loop, _name, { now }) => {
  const expires = time(loop, "expiresAt");
  const domain = clean(
    typeof loop.evidence.domain === "string" ? loop.evidence.domain : (loop.entity.service ?? "the domain"),
    120,
  );
  const left = expires === undefined ? undefined : expires - now;
  const when = left === undefined ? "soon" : left <= 0 ? `${age(-left)} ago` : `in ${age(left)}`;
  const registrar = typeof loop.evidence.registrar === "string" ? ` at ${clean(loop.evidence.registrar, 80)}` : "";
  return {
    summary: `The registration of ${domain} ${left !== undefined && left <= 0 ? "expired" : "expires"} ${when}`,
    nextAction: `Renew it${registrar} (or turn on auto-renew and check the payment method on file).`,
    since: Date.parse(loop.openedAt),
  };
};

const SERVICE_KINDS: Record<string, Describe> = {
  "service.down": down,
  "service.degraded": degraded,
  "heartbeat.missed": heartbeatMissed,
  "cert.expiring": certExpiring,
  "domain.expiring": domainExpiring,
};

/** Describes a service loop, or returns undefined for a kind the rules do not know. */
export function describeService(loop: Loop, ctx: DescribeContext): Description | undefined {
  const f = SERVICE_KINDS[loop.kind];
  if (!f) return undefined;
  return f(loop, clean(loop.entity.service ?? text(loop, "name") ?? "the service", 80), ctx);
}

/** Milliseconds before an expiring certificate's end, when the evidence says. */
export function certLeft(loop: Loop, now: number): number | undefined {
  const expires = time(loop, "cert.expiresAt", "expiresAt");
  return expires === undefined ? undefined : expires - now;
}
