import type { Channel } from "@mirror/contracts";
import { createTransport, type Transporter } from "nodemailer";
import type { Message } from "../message.js";
import type { TextRenderer } from "./chat.js";
import type { ChannelSender, SendContext, SendResult } from "./types.js";

type EmailConfig = Extract<Channel, { type: "email" }>;

const mailId = (id: string) => `<${id}@mirroros.notifier>`;

const escapeHtml = (t: string) => t.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Each loop's page, with what it is about: "repo.dirty · /home/me/app: http://console/loops/…". */
function loopLinks(msg: Message): { label: string; url: string }[] {
  return msg.alerts.map((a) => ({
    label: `${a.labels.alertname ?? "loop"} · ${a.labels.repo ?? a.labels.service ?? a.labels.instance ?? ""}`,
    url: a.generatorURL,
  }));
}

/**
 * The mail for a message: subject = title, a plain text and an HTML part, each with a link to
 * every loop (the console for a digest). Message-ID comes from the delivery id (the same on
 * every retry); every later message of a group's life replies to its first one, so a mail
 * client shows firing, updates and resolved as one thread.
 */
export function emailMessage(cfg: EmailConfig, msg: Message, ctx: SendContext, text: TextRenderer) {
  const { title, body } = text(msg);
  const content = body || title;
  const links = msg.kind === "digest" ? [{ label: "Open loops", url: msg.externalURL }] : loopLinks(msg);
  const plain = `${content}\n\n${links.map((l) => `${l.label}: ${l.url}`).join("\n")}\n`;
  const html = `<!doctype html><html><body><p style="white-space:pre-wrap">${escapeHtml(content)}</p><ul>${links.map((l) => `<li><a href="${escapeHtml(l.url)}">${escapeHtml(l.label)}</a></li>`).join("")}</ul></body></html>`;
  const reply = msg.thread && msg.thread !== ctx.id ? mailId(msg.thread) : undefined;
  return {
    from: cfg.from,
    to: cfg.to,
    subject: title.replace(/[\r\n]+/g, " "),
    text: plain,
    html,
    messageId: mailId(ctx.id),
    ...(reply ? { inReplyTo: reply, references: [reply] } : {}),
    headers: { "X-Mirror-Delivery": ctx.id, "X-Mirror-Status": msg.status },
  };
}

/** SMTP reply codes 4xx and connection failures are worth retrying; 5xx and auth failures are not. */
export function classifySmtpError(err: unknown): SendResult {
  const e = err as Error & { code?: string; responseCode?: number };
  const code = e.responseCode;
  const retryable =
    code !== undefined ? code < 500 : e.code !== "EAUTH" && e.code !== "EENVELOPE" && e.code !== "EMESSAGE";
  return {
    ok: false,
    retryable,
    status: code,
    error: `smtp ${e.code ?? "error"}${code ? ` ${code}` : ""}: ${String(e.message).slice(0, 300)}`,
  };
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
