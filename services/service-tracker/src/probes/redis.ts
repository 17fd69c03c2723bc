import { isIP, connect as tcpConnect, type Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";
import type { z } from "zod";
import type { RedisCheck } from "@mirror/contracts";
import { type Condition, failing } from "../conditions.js";
import { describeError } from "./errors.js";
import { type ProbeResult, unreachable, withDeadline } from "./result.js";

export type RedisCheckConfig = z.infer<typeof RedisCheck>;

/** Where and as whom to connect, parsed once; the password never leaves this object. */
export interface RedisTarget {
  host: string;
  port: number;
  tls: boolean;
  username: string | null;
  password: string | null;
  db: number | null;
  timeout: number;
}

export function prepareRedis(cfg: RedisCheckConfig): RedisTarget {
  const u = new URL(cfg.url);
  const db = u.pathname.length > 1 ? Number(u.pathname.slice(1)) : null;
  return {
    host: u.hostname.replace(/^\[|\]$/g, "") || "127.0.0.1",
    port: u.port ? Number(u.port) : 6379,
    tls: u.protocol === "rediss:",
    username: u.username ? decodeURIComponent(u.username) : null,
    password: cfg.password ?? (u.password ? decodeURIComponent(u.password) : null),
    db: db !== null && Number.isInteger(db) ? db : null,
    timeout: cfg.timeout,
  };
}

/** `host:port` of a redis or postgres URL, for status details (never the credentials). */
export function urlTarget(url: string, defaultPort: number): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || defaultPort}`;
  } catch {
    return "invalid URL";
  }
}

/** RESP: every command as an array of bulk strings, so a password with spaces or CRLF stays one argument. */
function command(...args: string[]): string {
  return `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join("")}`;
}

/**
 * Connects, authenticates (AUTH) when a password is set, selects the db, then PING: up on +PONG.
 * A refused password, NOAUTH, or a peer that does not speak RESP is down with the reason.
 */
export function probeRedis(t: RedisTarget, conditions: readonly Condition[], now: () => number): Promise<ProbeResult> {
  const started = performance.now();
  return withDeadline(t.timeout, started, (settle) => {
    const socket: Socket = t.tls
      ? tlsConnect({ host: t.host, port: t.port, ...(isIP(t.host) ? {} : { servername: t.host }) })
      : tcpConnect({ host: t.host, port: t.port });
    const steps: string[] = [];
    if (t.password !== null)
      steps.push(t.username ? command("AUTH", t.username, t.password) : command("AUTH", t.password));
    if (t.db !== null) steps.push(command("SELECT", String(t.db)));
    steps.push(command("PING"));
    const names = [...(t.password !== null ? ["AUTH"] : []), ...(t.db !== null ? ["SELECT"] : []), "PING"];
    let buf = "";
    let replies = 0;
    socket.once(t.tls ? "secureConnect" : "connect", () => socket.write(steps.join("")));
    socket.on("data", (chunk: Buffer) => {
      buf += chunk.toString("latin1");
      if (buf.length > 64 * 1024) return settle(unreachable(started, "not a Redis server (an oversized reply)"));
      for (let nl = buf.indexOf("\r\n"); nl >= 0; nl = buf.indexOf("\r\n")) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 2);
        const step = names[replies++] as string;
        if (line.startsWith("-")) return settle(unreachable(started, redisError(step, line.slice(1))));
        if (!line.startsWith("+"))
          return settle(unreachable(started, `not a Redis reply to ${step}: ${JSON.stringify(line.slice(0, 40))}`));
        if (replies === names.length) {
          if (line !== "+PONG")
            return settle(unreachable(started, `unexpected reply to PING: ${JSON.stringify(line.slice(0, 40))}`));
          const latencyMs = performance.now() - started;
          socket.end(command("QUIT"));
          return settle({
            reachable: true,
            latencyMs,
            error: null,
            failed: failing(conditions, { latencyMs, now: now() }),
            cert: null,
            details: {},
          });
        }
      }
      return undefined;
    });
    socket.once("error", (err) => settle(unreachable(started, describeError(err, t.host))));
    socket.once("close", () => settle(unreachable(started, "connection closed before PONG")));
    return () => socket.destroy();
  });
}

/** A Redis error reply as a reason, without echoing anything that was sent. */
function redisError(step: string, message: string): string {
  const code = message.split(" ")[0] ?? "ERR";
  if (code === "WRONGPASS" || (step === "AUTH" && /invalid (username-)?password/i.test(message)))
    return `redis refused the password (${code})`;
  if (code === "NOAUTH") return "redis wants a password (NOAUTH): set redis.password or put it in the URL";
  return `redis answered ${step} with an error: ${message.slice(0, 120)}`;
}
