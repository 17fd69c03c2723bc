import type { Message } from "../message.js";

/** What a send needs besides the message. */
export interface SendContext {
  /** The delivery's idempotency key, the same on every attempt. */
  id: string;
  attempt: number;
  /** Wall-clock time of this attempt (signature timestamps are about the wire, not the injected clock). */
  sentAt: number;
  /** Aborted when the notifier stops: an attempt in flight is abandoned and retried after its claim lapses. */
  signal?: AbortSignal;
}

/** The outcome of one attempt. */
export type SendResult =
  | { ok: true; status?: number }
  | { ok: false; retryable: boolean; retryAfterMs?: number; status?: number; error: string };

/** One configured channel, ready to send messages in its own wire format. */
export interface ChannelSender {
  readonly name: string;
  readonly type: string;
  readonly timeoutMs: number;
  send(message: Message, ctx: SendContext): Promise<SendResult>;
  close?(): Promise<void>;
}
