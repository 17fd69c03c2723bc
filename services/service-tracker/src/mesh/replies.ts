import { z } from "zod";

/** The NATS Services API ("micro") replies, read loosely: unknown fields are kept out, not refused. */
const Base = z.object({
  name: z.string().min(1).max(256),
  id: z.string().min(1).max(256),
  version: z.string().max(64).default(""),
});

export const PingReply = Base.extend({
  type: z.literal("io.nats.micro.v1.ping_response"),
  metadata: z.record(z.string(), z.string()).nullish(),
});

export const InfoReply = Base.extend({
  type: z.literal("io.nats.micro.v1.info_response"),
  description: z.string().nullish(),
  metadata: z.record(z.string(), z.string()).nullish(),
  endpoints: z.array(z.object({ name: z.string(), subject: z.string(), queue_group: z.string().nullish() })).nullish(),
});

export const StatsReply = Base.extend({
  type: z.literal("io.nats.micro.v1.stats_response"),
  started: z.string().nullish(),
  endpoints: z
    .array(
      z.object({
        name: z.string(),
        subject: z.string(),
        num_requests: z.number().nonnegative().default(0),
        num_errors: z.number().nonnegative().default(0),
        last_error: z.string().nullish(),
        average_processing_time: z.number().nullish(),
      }),
    )
    .nullish(),
});

export type PingReply = z.infer<typeof PingReply>;
export type InfoReply = z.infer<typeof InfoReply>;
export type StatsReply = z.infer<typeof StatsReply>;

export type Reply =
  | { kind: "ping"; data: PingReply }
  | { kind: "info"; data: InfoReply }
  | { kind: "stats"; data: StatsReply };

/**
 * Reads one reply. A reply that is not JSON or not a services reply at all is `bad` with no
 * name; one that names a service but breaks the schema is `bad` with that name, so the
 * member can be shown with a reason instead of silently vanishing.
 */
export function readReply(payload: Uint8Array): Reply | { kind: "bad"; name: string | null; reason: string } {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(payload));
  } catch {
    return { kind: "bad", name: null, reason: "reply is not JSON" };
  }
  const type = (json as { type?: unknown })?.type;
  const name =
    typeof (json as { name?: unknown })?.name === "string"
      ? (json as { name: string }).name.slice(0, 256) || null
      : null;
  const schema =
    type === "io.nats.micro.v1.ping_response"
      ? PingReply
      : type === "io.nats.micro.v1.info_response"
        ? InfoReply
        : type === "io.nats.micro.v1.stats_response"
          ? StatsReply
          : null;
  if (!schema) return { kind: "bad", name, reason: `unknown reply type ${JSON.stringify(type ?? null).slice(0, 80)}` };
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return {
      kind: "bad",
      name,
      reason: `malformed $SRV reply: ${issue?.path.join(".") || "(root)"}: ${issue?.message}`,
    };
  }
  const kind = schema === PingReply ? "ping" : schema === InfoReply ? "info" : "stats";
  return { kind, data: parsed.data } as Reply;
}
