import type { Bus } from "@mirror/bus";
import { type Loop, loopsList, modelDigest, type NotifierConfig, stableHash } from "@mirror/contracts";
import { Cron } from "croner";
import type { Logger } from "pino";
import type { Message } from "./message.js";
import type { Delivery, NotifierStore } from "./store.js";

type DigestConfig = NonNullable<NotifierConfig["digest"]>;

export interface DigestDeps {
  store: NotifierStore;
  bus: Bus;
  log: Logger;
  externalURL: string;
}

/** The next digest time after `after` (ms), per the cron expression in its time zone. */
export function nextDigestAt(cfg: DigestConfig, after: number): number | null {
  const next = new Cron(cfg.cron, { timezone: cfg.tz, paused: true }).nextRun(new Date(after));
  return next ? next.getTime() : null;
}

/** A plain list of open loops, for when no model adapter answers. */
export function plainDigest(loops: readonly Pick<Loop, "kind" | "severity" | "summary" | "entity">[]): {
  title: string;
  text: string;
} {
  if (loops.length === 0) return { title: "MirrorOS digest: nothing open", text: "No open loops." };
  const lines = loops.map(
    (l) => `- [${l.severity}] ${l.kind} · ${l.entity.repo ?? l.entity.service ?? ""}: ${l.summary}`,
  );
  return {
    title: `MirrorOS digest: ${loops.length} open loop${loops.length === 1 ? "" : "s"}`,
    text: lines.join("\n"),
  };
}

/** Asks the loop-detector for open loops and a model adapter for the summary, each with a plain fallback. */
async function compose(cfg: DigestConfig, deps: DigestDeps): Promise<{ title: string; text: string }> {
  let loops: Loop[] = [];
  try {
    loops = (await deps.bus.request(loopsList, {}, { timeout: cfg.timeout })).loops.filter(
      (l) => l.status !== "closed",
    );
  } catch (err) {
    deps.log.warn(
      { err: (err as Error).message },
      "digest: loop list unavailable; using the loops this notifier knows",
    );
    const active = await deps.store.activeLabels();
    return plainDigest(
      active.map((l) => ({
        kind: l.alertname ?? "",
        severity: (l.severity ?? "info") as Loop["severity"],
        summary: "",
        entity: { type: "repo", repo: l.repo ?? l.service },
      })),
    );
  }
  try {
    const reply = await deps.bus.request(modelDigest, { loops, period: cfg.cron }, { timeout: cfg.timeout });
    return { title: reply.title, text: reply.text };
  } catch (err) {
    deps.log.info({ err: (err as Error).message }, "digest: no model answered; sending a plain list");
    return plainDigest(loops);
  }
}

function digestMessage(channel: string, slot: number, title: string, text: string, externalURL: string): Message {
  const at = new Date(slot).toISOString();
  return {
    kind: "digest",
    receiver: channel,
    status: "firing",
    groupKey: "{}/digest:{}",
    groupLabels: {},
    commonLabels: { alertname: "MirrorDigest", severity: "info" },
    commonAnnotations: { summary: title, description: text },
    externalURL,
    alerts: [
      {
        status: "firing",
        labels: { alertname: "MirrorDigest", severity: "info" },
        annotations: { summary: title, description: text },
        startsAt: at,
        endsAt: at,
        generatorURL: externalURL,
        fingerprint: stableHash(["digest", String(slot)]),
      },
    ],
    catchUp: false,
    repeat: false,
    storm: false,
    title,
    text,
  };
}

/** Sends the digest when its time has come. */
export async function runDigest(cfg: DigestConfig, now: number, deps: DigestDeps): Promise<boolean> {
  const { store } = deps;
  const stored = await store.nextDigestAt();
  if (stored === null) {
    const next = nextDigestAt(cfg, now);
    if (next !== null) await store.planDigest(next);
    return false;
  }
  const slot = stored;
  if (now < slot) return false;
  // One replica composes a slot's digest (one model request, not one per replica); if it dies,
  // another composes it once the marker lapses in the server's time.
  if (!(await store.claimDigest(slot, cfg.timeout * 2 + 5_000))) return false;
  // Delivery ids are stable per slot and channel and each is added once (a marker outlives it),
  // so a crash or a second replica here sends nothing twice.
  const { title, text } = await compose(cfg, deps);
  for (const channel of cfg.channels) {
    const id = stableHash(["digest", String(slot), channel], 24);
    const delivery: Delivery = {
      id,
      channel,
      groupId: `digest-${channel}`,
      message: digestMessage(channel, slot, title, text, deps.externalURL),
      createdAt: now,
      attempt: 0,
      state: "pending",
      lastError: null,
    };
    await deps.store.addDelivery(delivery, now);
  }
  const next = nextDigestAt(cfg, Math.max(now, slot));
  await store.planDigest(next ?? Number.MAX_SAFE_INTEGER);
  return true;
}
