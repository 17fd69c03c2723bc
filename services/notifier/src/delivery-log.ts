import type {
  Channel,
  ChannelDeliveries,
  DeliveriesReply,
  DeliveryKind,
  DeliveryLogEntry,
  DeliveryOutcome,
} from "@mirror/contracts";
import { collectSecrets, defineLua, runLua } from "@mirror/kit";
import type { Redis } from "ioredis";
import type { Delivery } from "./store.js";

/** Attempts kept per channel (the newest); older ones are trimmed as new ones arrive. */
export const KEEP_PER_CHANNEL = 200;
/** A channel's log is forgotten this long after its last attempt (a channel removed from the config). */
const LOG_TTL_MS = 30 * 86_400_000;
/** Loops listed per entry at most. */
const MAX_ALERTS = 20;
const MAX_ERROR = 500;
const CHANNELS = "log:channels";
const listKey = (channel: string) => `log:${channel}`;
/** One attempt onto its channel's list, kept to the newest `keep`, the list's expiry renewed, the channel listed. */
const APPEND = defineLua("appendDeliveryLog", {
  keys: ["listKey", "channelsKey"],
  args: ["entry", "keep", "ttlMs", "channel"],
  body: `redis.call('LPUSH', listKey, entry)
redis.call('LTRIM', listKey, 0, tonumber(keep) - 1)
redis.call('PEXPIRE', listKey, ttlMs)
redis.call('SADD', channelsKey, channel)
return 1`,
});

/** What a channel's config holds that must never be shown: its secrets, its URLs' paths and queries, their credentials. */
export function channelSecrets(channel: Channel): string[] {
  const out = collectSecrets(channel);
  const urls = Object.entries(channel)
    .flatMap(([k, v]) => (/url/i.test(k) ? (Array.isArray(v) ? v : [v]) : []))
    .filter((v): v is string => typeof v === "string");
  for (const [k, v] of Object.entries(channel)) {
    if (/^(token|botToken|key|password|secret)$/.test(k) && typeof v === "string" && v.length >= 3) out.add(v);
    if (k === "headers" && v && typeof v === "object")
      for (const h of Object.values(v)) if (typeof h === "string" && h.length >= 3) out.add(h);
  }
  for (const u of urls) {
    out.add(u);
    try {
      const p = new URL(u);
      if (p.pathname.length > 1) out.add(p.pathname);
      if (p.search.length > 1) out.add(p.search);
      if (p.username) out.add(p.username);
      if (p.password) out.add(p.password);
    } catch {
      // Not a URL (an Apprise URL of an unknown scheme): the whole text is already listed.
    }
  }
  return [...out].filter((s) => s.length >= 3);
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
/** A URL anywhere in a text: kept as scheme://host[:port], the rest (credentials, path, query) cut. */
const URL_IN_TEXT = /\b([a-z][a-z0-9+.-]*:\/\/)(?:[^\s/?#@"'<>]*@)?([^\s/?#"'<>]+)([^\s"'<>]*)/gi;
/** `Authorization: Bearer ...` and the like. */
const SCHEME_CREDENTIAL = /\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+/gi;
/** `token=...`, `"password":"..."` and the like. */
const NAMED_CREDENTIAL =
  /\b(token|access_token|api_?key|secret|password|passwd|authorization|signature|sig|key)(\\?"?\s*[:=]\s*\\?"?)([^\s"'&,;}\\]+)/gi;
/** Long unbroken runs of letters and digits (both): API keys, bot tokens, signatures. */
const TOKEN_LIKE = /[A-Za-z0-9_-]{32,}/g;

/**
 * An attempt's error as it may be shown: every known secret of the channel blanked, URLs cut to
 * their origin, named credentials and token-like runs masked, capped in length.
 */
export function redactError(text: string, secrets: readonly string[]): string {
  let out = text;
  const known = [...new Set(secrets)].filter((s) => s.length >= 3).sort((a, b) => b.length - a.length);
  if (known.length) out = out.replace(new RegExp(known.map(escapeRe).join("|"), "g"), "[redacted]");
  out = out.replace(
    URL_IN_TEXT,
    (_m, scheme: string, host: string, rest: string) =>
      `${scheme}${host}${rest && rest !== "/" ? "/[redacted]" : rest}`,
  );
  out = out.replace(SCHEME_CREDENTIAL, (_m, scheme: string) => `${scheme} [redacted]`);
  out = out.replace(NAMED_CREDENTIAL, (_m, name: string, sep: string) => `${name}${sep}[redacted]`);
  out = out.replace(TOKEN_LIKE, (run) => (/\d/.test(run) && /[A-Za-z]/.test(run) ? "[redacted]" : run));
  return out.length > MAX_ERROR ? `${out.slice(0, MAX_ERROR)}…` : out;
}

/** The kind of message a delivery carries. */
export function deliveryKind(d: Delivery): DeliveryKind {
  if (d.message.kind === "digest") return "digest";
  if (d.message.repeat) return "repeat";
  return d.message.status;
}

export interface AttemptRecord {
  delivery: Delivery;
  outcome: DeliveryOutcome;
  attempts: number;
  at: number;
  error?: string | null;
  nextAttemptAt?: number | null;
}

/**
 * The notifier's delivery log: each attempt's outcome per channel, in its own Redis keys (a list
 * per channel, newest first, trimmed to KEEP_PER_CHANNEL), so every replica and a restart see it.
 */
export class DeliveryLog {
  private secrets = new Map<string, string[]>();
  private types = new Map<string, string>();

  constructor(
    private readonly redis: Redis,
    channels: readonly Channel[],
    private readonly keep = KEEP_PER_CHANNEL,
  ) {
    this.setChannels(channels);
  }

  /** The configured channels (at start and after a reload): their types and what their errors must not show. */
  setChannels(channels: readonly Channel[]): void {
    this.secrets = new Map(channels.map((c) => [c.name, channelSecrets(c)]));
    this.types = new Map(channels.map((c) => [c.name, c.type]));
  }

  entryOf(r: AttemptRecord): DeliveryLogEntry {
    const { delivery: d } = r;
    return {
      deliveryId: d.id,
      channel: d.channel,
      kind: deliveryKind(d),
      outcome: r.outcome,
      attempts: Math.max(1, r.attempts),
      at: new Date(r.at).toISOString(),
      groupKey: d.message.groupKey,
      alerts: d.message.alerts.slice(0, MAX_ALERTS).map((a) => ({
        loopId: a.fingerprint,
        alertname: a.labels.alertname ?? "",
        entity: a.labels.repo ?? a.labels.service ?? null,
        status: a.status,
      })),
      alertCount: d.message.alerts.length,
      error: r.error ? redactError(r.error, this.secrets.get(d.channel) ?? []) : null,
      nextAttemptAt: r.nextAttemptAt ? new Date(r.nextAttemptAt).toISOString() : null,
    };
  }

  /**
   * Appends one attempt to its channel's log: push, trim, expiry and the channel's name in one
   * script (one command joining the connection's auto-pipeline instead of four, each of which the
   * client builds and the server parses).
   */
  async record(r: AttemptRecord): Promise<DeliveryLogEntry> {
    const entry = this.entryOf(r);
    await runLua(
      this.redis,
      APPEND,
      { listKey: listKey(entry.channel), channelsKey: CHANNELS },
      { entry: JSON.stringify(entry), keep: this.keep, ttlMs: LOG_TTL_MS, channel: entry.channel },
    );
    return entry;
  }

  /** Each configured channel's log (and any other channel's still kept), newest first, `limit` entries each. */
  async read(req: { channel?: string; limit: number }): Promise<DeliveriesReply> {
    const logged = await this.redis.smembers(CHANNELS);
    const names = [...new Set([...this.types.keys(), ...logged.sort()])].filter(
      (n) => req.channel === undefined || n === req.channel,
    );
    const pipe = this.redis.pipeline();
    for (const n of names) pipe.lrange(listKey(n), 0, this.keep - 1);
    const lists = names.length ? ((await pipe.exec()) ?? []) : [];
    const channels: ChannelDeliveries[] = [];
    const gone: string[] = [];
    for (const [i, name] of names.entries()) {
      const raw = (lists[i]?.[1] as string[] | undefined) ?? [];
      const configured = this.types.has(name);
      if (!configured && raw.length === 0) {
        gone.push(name);
        continue;
      }
      const all = raw.flatMap((t) => {
        try {
          return [JSON.parse(t) as DeliveryLogEntry];
        } catch {
          return [];
        }
      });
      const counts = { sent: 0, failed: 0, retried: 0 };
      for (const e of all) counts[e.outcome]++;
      channels.push({
        channel: name,
        type: this.types.get(name) ?? null,
        configured,
        deliveries: all.slice(0, req.limit),
        counts,
      });
    }
    if (gone.length) await this.redis.srem(CHANNELS, ...gone);
    return { channels, kept: this.keep };
  }
}
