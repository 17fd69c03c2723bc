import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Channel } from "@mirror/contracts";
import type { Message } from "../message.js";
import type { TextRenderer } from "./chat.js";
import { sendHttp } from "./http.js";
import type { ChannelSender, SendContext, SendResult } from "./types.js";

type AppriseConfig = Extract<Channel, { type: "apprise" }>;

/** Apprise's notification type: info|success|warning|failure. */
function notifyType(msg: Message): string {
  if (msg.kind === "digest") return "info";
  if (msg.status === "resolved") return "success";
  return msg.alerts.some((a) => a.labels.severity === "critical") ? "failure" : "warning";
}

/** Apprise API: POST /notify/<key> (stateful) or /notify/ with `urls` (stateless). */
export function appriseRequest(cfg: AppriseConfig & { url: string }, msg: Message, text: TextRenderer) {
  const { title, body } = text(msg);
  const payload: Record<string, unknown> = { title, body: body || title, type: notifyType(msg), format: "text" };
  if (cfg.tag) payload.tag = cfg.tag;
  if (!cfg.key && cfg.urls.length) payload.urls = cfg.urls.join(", ");
  const base = cfg.url.replace(/\/$/, "");
  const url = cfg.key ? `${base}/notify/${encodeURIComponent(cfg.key)}` : `${base}/notify/`;
  return {
    url,
    headers: { "content-type": "application/json" },
    body: JSON.stringify(payload),
    timeoutMs: cfg.timeout,
  };
}

/** Output of the command kept for the error message at most. */
const MAX_OUTPUT = 2_048;

/**
 * The apprise command's exit status: 0 sent; 1 a service failed (or none could be loaded), worth
 * retrying like the API's 424; 2 bad arguments and 3 nothing to notify, which no retry mends.
 */
export function classifyAppriseExit(code: number | null, output: string): SendResult {
  if (code === 0) return { ok: true };
  const why = output.replace(/\s+/g, " ").trim().slice(-300);
  return {
    ok: false,
    retryable: code !== 2 && code !== 3,
    error: `apprise exited ${code ?? "on a signal"}${why ? `: ${why}` : ""}`,
  };
}

/**
 * Runs `apprise -c <file> -t <title> -n <type>` with the body on stdin, never through a shell.
 * The URLs (they hold tokens and passwords) are in a file only this user can read, so they are
 * not on a command line that every local user sees in `ps`.
 */
function runApprise(
  cfg: AppriseConfig,
  configFile: string,
  msg: Message,
  text: TextRenderer,
  ctx: SendContext,
): Promise<SendResult> {
  const { title, body } = text(msg);
  const args = ["-c", configFile, "-n", notifyType(msg), "-i", "text", "-t", title];
  if (cfg.tag) args.push("-g", cfg.tag);
  return new Promise((resolve) => {
    const child = spawn(cfg.command, args, {
      stdio: ["pipe", "pipe", "pipe"],
      signal: ctx.signal,
      timeout: cfg.timeout,
      killSignal: "SIGKILL",
    });
    let output = "";
    const keep = (d: Buffer) => {
      output = (output + d.toString("utf8")).slice(-MAX_OUTPUT);
    };
    child.stdout.on("data", keep);
    child.stderr.on("data", keep);
    child.stdin.on("error", () => undefined);
    child.once("error", (err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT")
        resolve({
          ok: false,
          retryable: false,
          error: `the apprise command "${cfg.command}" is not installed (Debian: apt install apprise), or give an Apprise API server as url`,
        });
      else
        resolve({
          ok: false,
          retryable: true,
          error: `apprise: ${err.name === "AbortError" ? "aborted" : err.message}`,
        });
    });
    child.once("close", (code, signal) => {
      const redacted = cfg.urls.reduce((out, u) => out.replaceAll(u, "<url>"), output);
      if (signal === "SIGKILL")
        resolve({ ok: false, retryable: true, error: `apprise timed out after ${cfg.timeout}ms` });
      else resolve(classifyAppriseExit(code, redacted));
    });
    child.stdin.end(body || title);
  });
}

/** The local command's URL file: one URL a line (Apprise's TEXT config), mode 0600 in a private 0700 folder. */
function writeUrlFile(urls: readonly string[], tag: string | undefined): { file: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), "mirror-apprise-"));
  const file = join(dir, "urls.txt");
  writeFileSync(file, `${urls.map((u) => (tag ? `${tag}=${u}` : u)).join("\n")}\n`, { mode: 0o600 });
  return { file, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export function appriseChannel(cfg: AppriseConfig, text: TextRenderer): ChannelSender {
  const base = { name: cfg.name, type: cfg.type, timeoutMs: cfg.timeout };
  const url = cfg.url;
  if (url !== undefined)
    return {
      ...base,
      send: (msg, ctx) => sendHttp({ ...appriseRequest({ ...cfg, url }, msg, text), signal: ctx.signal }),
    };
  const urls = writeUrlFile(cfg.urls, cfg.tag);
  return { ...base, send: (msg, ctx) => runApprise(cfg, urls.file, msg, text, ctx), close: async () => urls.remove() };
}
