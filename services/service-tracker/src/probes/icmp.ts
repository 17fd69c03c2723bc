import { spawn } from "node:child_process";
import type { z } from "zod";
import type { IcmpCheck } from "@mirror/contracts";
import { type Condition, failing } from "../conditions.js";
import { type ProbeResult, unreachable, withDeadline } from "./result.js";

export type IcmpCheckConfig = z.infer<typeof IcmpCheck>;

/** The summary lines of iputils and busybox ping. */
const SENT = /(\d+) packets transmitted, (\d+) (?:packets )?received/;
const RTT = /(?:rtt|round-trip) min\/avg\/max(?:\/mdev)? = [\d.]+\/([\d.]+)\//;

/** What the system `ping` printed, read: sent, received, average round trip. Null when it is not ping's summary. */
export function parsePing(output: string): { sent: number; received: number; rtt: number | null } | null {
  const m = SENT.exec(output);
  if (!m) return null;
  const r = RTT.exec(output);
  return { sent: Number(m[1]), received: Number(m[2]), rtt: r ? Number(r[1]) : null };
}

/**
 * Runs the system `ping` (iputils-ping or busybox). It needs ICMP sockets: root or
 * CAP_NET_RAW, or an unprivileged group in net.ipv4.ping_group_range. All replies lost is
 * down; partial loss is for conditions (`loss < 20`, `rtt < 50ms`).
 */
export function probeIcmp(
  cfg: IcmpCheckConfig,
  conditions: readonly Condition[],
  now: () => number,
  program = "ping",
): Promise<ProbeResult> {
  const started = performance.now();
  const wait = Math.max(1, Math.ceil(cfg.timeout / 1000));
  return withDeadline(cfg.timeout + 1_000, started, (settle) => {
    const child = spawn(program, ["-n", "-c", String(cfg.count), "-i", "0.2", "-w", String(wait), cfg.host], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (c: Buffer) => void (out.length < 65_536 && (out += c.toString())));
    child.stderr.on("data", (c: Buffer) => void (err.length < 65_536 && (err += c.toString())));
    child.once("error", (e: NodeJS.ErrnoException) => {
      settle(
        unreachable(
          started,
          e.code === "ENOENT"
            ? `the system \`${program}\` is not installed (Debian: apt-get install iputils-ping)`
            : `cannot run ${program}: ${e.message}`,
        ),
      );
    });
    child.once("close", () => {
      const parsed = parsePing(out);
      if (!parsed || parsed.sent === 0) {
        const line = (err || out).trim().split("\n")[0] ?? "";
        if (/not permitted|permission denied/i.test(line))
          return settle(
            unreachable(
              started,
              `ping is not permitted here (${line}): it needs CAP_NET_RAW or net.ipv4.ping_group_range`,
            ),
          );
        return settle(unreachable(started, line ? `ping failed: ${line.slice(0, 200)}` : "ping printed no summary"));
      }
      const loss = Math.round((100 * (parsed.sent - parsed.received)) / parsed.sent);
      const details = { sent: parsed.sent, received: parsed.received, loss };
      if (parsed.received === 0)
        return settle(unreachable(started, `no reply to ${parsed.sent} echo requests to ${cfg.host}`, details));
      const latencyMs = parsed.rtt ?? performance.now() - started;
      settle({
        reachable: true,
        latencyMs,
        error: null,
        failed: failing(conditions, { latencyMs, loss, rtt: parsed.rtt, now: now() }),
        cert: null,
        details: { ...details, rtt: parsed.rtt },
      });
    });
    return () => void child.kill("SIGKILL");
  });
}
