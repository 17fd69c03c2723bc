import type { Channel } from "@mirror/contracts";
import { createTransport, type Transporter } from "nodemailer";
import type { Message } from "../message.js";
import type { TextRenderer } from "./chat.js";
import type { ChannelSender, SendContext, SendResult } from "./types.js";

type EmailConfig = Extract<Channel, { type: "email" }>;

/** The mail for a message: subject = title, plain text body, Message-ID from the idempotency key. */
export function emailMessage(cfg: EmailConfig, msg: Message, ctx: SendContext, text: TextRenderer) {
  const { title, body } = text(msg);
  return {
    from: cfg.from,
    to: cfg.to,
    subject: title.replace(/[\r\n]+/g, " "),
    text: body || title,
    messageId: `<${ctx.id}@mirroros.notifier>`,
    headers: { "X-Mirror-Delivery": ctx.id, "X-Mirror-Status": msg.status },
  };
}

/** SMTP reply codes 4xx and connection failures are worth retrying; 5xx and auth failures are not. */
export function classifySmtpError(err: unknown): SendResult {
  const e = err as Error & { code?: string; responseCode?: number };
  const code = e.responseCode;
  const retryable = code !== undefined ? code < 500 : e.code !== "EAUTH" && e.code !== "EENVELOPE" && e.code !== "EMESSAGE";
  return { ok: false, retryable, status: code, error: `smtp ${e.code ?? "error"}${code ? ` ${code}` : ""}: ${String(e.message).slice(0, 300)}` };
}

export function emailChannel(cfg: EmailConfig, text: TextRenderer): ChannelSender {
  const transport: Transporter = createTransport({
    host: cfg.host,
    port: cfg.port,
    secure: cfg.secure,
    requireTLS: cfg.requireTLS,
    auth: cfg.user ? { user: cfg.user, pass: cfg.password ?? "" } : undefined,
    connectionTimeout: cfg.timeout,
    greetingTimeout: cfg.timeout,
    socketTimeout: cfg.timeout,
  });
  return {
    name: cfg.name,
    type: cfg.type,
    timeoutMs: cfg.timeout,
    send: async (msg, ctx) => {
      try {
        await transport.sendMail(emailMessage(cfg, msg, ctx, text));
        return { ok: true };
      } catch (err) {
        return classifySmtpError(err);
      }
    },
    close: async () => transport.close(),
  };
}
