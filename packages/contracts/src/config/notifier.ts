import { z } from "zod";
import { Duration, duration } from "../duration.js";
import { IsoTime, Severity } from "../events/common.js";
import { Port } from "./port.js";

/** A message template override; `{{field}}`, `{{#each alerts}}…{{/each}}`, `{{#if field}}…{{/if}}`. */
export const Template = z.strictObject({ title: z.string().optional(), body: z.string().optional() });

/** At most `max` deliveries per `per` on one channel; more wait for the next window. */
export const RateLimit = z.strictObject({ max: z.number().int().min(1), per: duration("1m") });

/** What every channel has: its name (the Alertmanager `receiver`), template, timeout, rate limit. */
const common = {
  name: z
    .string()
    .min(1)
    .regex(/^[A-Za-z0-9_-]+$/, "use letters, digits, _ and - (it names a subject token)")
    .describe(
      "Unique channel name: the Alertmanager `receiver`, used in routes, logs, metrics and `mirror.notify.*.<name>`.",
    ),
  template: Template.optional(),
  timeout: duration("10s").describe(
    "Deadline of one delivery attempt (an HTTP request, an SMTP session, one run of the apprise command).",
  ),
  rateLimit: RateLimit.optional(),
  /** Also send a `resolved` message when a loop closes. */
  sendResolved: z.boolean().default(true),
};

/** A Standard Webhooks secret: `whsec_<base64>` (the key is the decoded part) or any other string (its raw bytes). */
export const WebhookSecret = z
  .string()
  .min(1)
  .refine(
    (s) =>
      !s.startsWith("whsec_") ||
      (/^[A-Za-z0-9+/]+={0,2}$/.test(s.slice(6)) && s.length > 6 && (s.length - 6) % 4 === 0),
    {
      message: "a whsec_ secret must be valid base64 after the whsec_ prefix",
    },
  );

export const WebhookChannel = z.strictObject({
  ...common,
  type: z.literal("webhook"),
  url: z.url().describe("The receiver: the Alertmanager webhook v4 JSON is POSTed here."),
  headers: z
    .record(z.string(), z.string())
    .default({})
    .describe("Extra HTTP headers on every request (e.g. an Authorization)."),
  secret: WebhookSecret.optional().describe(
    // biome-ignore lint/suspicious/noTemplateCurlyInString: it names mirror.yaml's `${ENV}` syntax, not a template.
    "Standard Webhooks signing secret (`whsec_…` or any string; use `${ENV}`); never logged.",
  ),
  /** Alerts listed per message at most (Alertmanager `max_alerts`); the rest is counted in `truncatedAlerts`. 0 = all. */
  maxAlerts: z.number().int().min(0).default(0),
});

export const NtfyChannel = z.strictObject({
  ...common,
  type: z.literal("ntfy"),
  url: z.url().describe("Server and topic: https://ntfy.sh/my-topic"),
  token: z.string().optional(),
  user: z.string().optional(),
  password: z.string().optional(),
  tags: z.array(z.string()).default([]),
});

export const SlackChannel = z.strictObject({
  ...common,
  type: z.literal("slack"),
  url: z.url().describe("The Slack incoming-webhook URL."),
  channel: z.string().optional(),
  username: z.string().optional(),
});

export const DiscordChannel = z.strictObject({
  ...common,
  type: z.literal("discord"),
  url: z.url().describe("The Discord webhook URL."),
  username: z.string().optional(),
});

export const TelegramChannel = z.strictObject({
  ...common,
  type: z.literal("telegram"),
  botToken: z.string().min(1),
  chatId: z.union([z.string().min(1), z.number().int()]),
  /** Bot API server (a local Bot API server or a test receiver). */
  apiUrl: z.url().default("https://api.telegram.org"),
  messageThreadId: z.number().int().optional(),
});

export const GotifyChannel = z.strictObject({
  ...common,
  type: z.literal("gotify"),
  url: z.url().describe("The Gotify server (messages go to its /message)."),
  token: z.string().min(1),
});

export const EmailChannel = z.strictObject({
  ...common,
  type: z.literal("email"),
  host: z.string().min(1),
  port: Port.default(587).describe(
    "SMTP port of the mail server: 587 (submission, STARTTLS), 465 (implicit TLS, with `secure: true`) or 25.",
  ),
  /** true = implicit TLS (465); false = STARTTLS when offered. */
  secure: z.boolean().default(false),
  requireTLS: z.boolean().default(false),
  user: z.string().optional(),
  password: z.string().optional(),
  from: z.string().min(1),
  to: z.array(z.string().min(1)).min(1),
});

/**
 * Apprise in one of two modes: through an Apprise API server (`url`, with a saved `key` or the
 * `urls` to notify), or, without `url`, by running the local `apprise` command on `urls`.
 */
export const AppriseChannel = z
  .strictObject({
    ...common,
    type: z.literal("apprise"),
    url: z
      .url()
      .optional()
      .describe(
        "The Apprise API server, e.g. http://apprise:8000; leave it out to run the local `apprise` command instead.",
      ),
    /** Stateful: a configuration key saved on the server (POST /notify/<key>). */
    key: z.string().optional(),
    /** Apprise URLs to notify: sent to the API server's POST /notify/, or, without `url`, given to the local command in a private file. */
    urls: z.array(z.string().min(1)).default([]),
    tag: z.string().optional(),
    /** Without `url`: the Apprise command to run (Debian's `apprise` package). */
    command: z.string().min(1).default("apprise"),
  })
  .refine((c) => c.url !== undefined || c.urls.length > 0, {
    message: "give `url` (an Apprise API server) or `urls` (for the local apprise command)",
    path: ["urls"],
  })
  .refine((c) => c.url !== undefined || c.key === undefined, {
    message: "`key` names a configuration saved on an Apprise API server: it needs `url`",
    path: ["key"],
  });

export const Channel = z.discriminatedUnion("type", [
  WebhookChannel,
  NtfyChannel,
  SlackChannel,
  DiscordChannel,
  TelegramChannel,
  GotifyChannel,
  EmailChannel,
  AppriseChannel,
]);
export type Channel = z.infer<typeof Channel>;
export type ChannelType = Channel["type"];

/** `label=value`, `label!=value`, `label=~regex`, `label!~regex`. */
export const Matcher = z
  .string()
  .regex(/^\s*[A-Za-z_][A-Za-z0-9_]*\s*(=~|!~|!=|=)/, "use label=value, label!=value, label=~regex or label!~regex");

/** `critical`, `[high, critical]` or `">= high"`. */
export const SeverityMatch = z.union([
  Severity,
  z.array(Severity),
  z
    .string()
    .regex(/^\s*(>=|>|<=|<)\s*(info|low|medium|high|critical)\s*$/, 'use a severity, a list, or e.g. ">= high"'),
]);

const HHMM = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, "use HH:MM (24h)");

export const QuietHours = z.strictObject({
  from: HHMM,
  to: HHMM,
  tz: z
    .string()
    .default("UTC")
    .refine((tz) => {
      try {
        new Intl.DateTimeFormat("en", { timeZone: tz });
        return true;
      } catch {
        return false;
      }
    }, "unknown time zone"),
  /** Severities that still go out during quiet hours. */
  except: z.array(Severity).default(["critical"]),
});
export type QuietHours = z.infer<typeof QuietHours>;

export const Route = z.strictObject({
  /** Glob on the loop kind: "repo.*", "service.down". */
  kind: z.string().optional(),
  severity: SeverityMatch.optional().describe('Severities the route takes: `high`, `[high, critical]` or `">= high"`.'),
  /** Label matchers that must all hold. */
  match: z.array(Matcher).default([]),
  /** Channel names; default: every channel. */
  channels: z.array(z.string()).optional(),
  continue: z.boolean().default(false),
  groupBy: z.array(z.string()).optional(),
  groupWait: Duration.optional(),
  groupInterval: Duration.optional(),
  repeatInterval: Duration.optional(),
  repeatLimit: z.number().int().min(0).optional(),
  quietHours: QuietHours.optional(),
  /** A loop still open (and not acknowledged) this long after it opened also goes to `escalateTo`. */
  escalateAfter: Duration.optional(),
  escalateTo: z.array(z.string()).default([]),
});
export type Route = z.infer<typeof Route>;

export const SilenceConfig = z.strictObject({
  matchers: z.array(Matcher).min(1),
  until: IsoTime,
  comment: z.string().optional(),
});

export const InhibitRule = z.strictObject({
  source: z.array(Matcher).min(1),
  target: z.array(Matcher).min(1),
  /** Labels that must have equal values in source and target. */
  equal: z.array(z.string()).default([]),
});

export const DigestConfig = z.strictObject({
  /** Five-field cron, e.g. "0 8 * * *". */
  cron: z.string().min(1),
  tz: z.string().default("UTC"),
  channels: z.array(z.string()).default([]),
  timeout: duration("30s"),
});

export const NotifierConfig = z
  .strictObject({
    port: Port.default(9104),
    /** Base of `generatorURL` / click links (the console); empty = `console.publicUrl`. */
    externalURL: z.string().default(""),
    groupBy: z.array(z.string()).default(["alertname"]),
    groupWait: duration("30s"),
    groupInterval: duration("5m"),
    repeatInterval: duration("4h"),
    /** Reminders per loop at most (0 = none); unset = unlimited. */
    repeatLimit: z.number().int().min(0).optional(),
    /** More loops than this in one group are sent as one summary. */
    stormThreshold: z.number().int().min(1).default(20),
    maxAttempts: z.number().int().min(1).max(100).default(8),
    /** First retry delay; doubles per attempt with jitter, capped by `maxBackoff`. */
    backoff: duration("1s"),
    maxBackoff: duration("5m"),
    channels: z.array(Channel).default([]),
    routes: z.array(Route).default([]),
    inhibit: z.array(InhibitRule).default([]),
    silences: z.array(SilenceConfig).default([]),
    quietHours: QuietHours.optional(),
    digest: DigestConfig.optional(),
  })
  .superRefine(checkChannelNames)
  .prefault({});

/** Channel names are unique and every route, escalation and digest names an existing channel. */
function checkChannelNames(
  cfg: {
    channels: { name: string }[];
    routes: { channels?: string[]; escalateTo: string[] }[];
    digest?: { channels: string[] };
  },
  ctx: z.RefinementCtx,
): void {
  const names = new Set<string>();
  cfg.channels.forEach((c, i) => {
    if (names.has(c.name))
      ctx.addIssue({ code: "custom", path: ["channels", i, "name"], message: `duplicate channel name "${c.name}"` });
    names.add(c.name);
  });
  const check = (list: string[] | undefined, path: (string | number)[]) =>
    list?.forEach((n, j) => {
      if (!names.has(n)) ctx.addIssue({ code: "custom", path: [...path, j], message: `no channel named "${n}"` });
    });
  cfg.routes.forEach((r, i) => {
    check(r.channels, ["routes", i, "channels"]);
    check(r.escalateTo, ["routes", i, "escalateTo"]);
  });
  check(cfg.digest?.channels, ["digest", "channels"]);
}
export type NotifierConfig = z.infer<typeof NotifierConfig>;
