import { ConfigError } from "./config.js";

/**
 * `MIRROR_PORT_OFFSET=N`: every HTTP port this copy of the mesh listens on moves up by N (each
 * service's configured or default port, the embedded nats-server's monitoring port), so a second
 * `pnpm start` on the same machine, another replica, does not collide with the first. 0 or unset:
 * no shift. A port of 0 (a free one, tests) stays 0.
 */
export function portOffset(env: NodeJS.ProcessEnv): number {
  const raw = env.MIRROR_PORT_OFFSET?.trim();
  if (!raw) return 0;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(n) || n > 60_000)
    throw new ConfigError("MIRROR_PORT_OFFSET", [
      `MIRROR_PORT_OFFSET: must be a whole number from 0 to 60000, not "${raw}"`,
    ]);
  return n;
}

/** `port` shifted by MIRROR_PORT_OFFSET (0 stays 0); a result past 65535 is a config error. */
export function withPortOffset(port: number, env: NodeJS.ProcessEnv): number {
  const offset = portOffset(env);
  if (port === 0 || offset === 0) return port;
  const shifted = port + offset;
  if (shifted > 65_535)
    throw new ConfigError("MIRROR_PORT_OFFSET", [
      `MIRROR_PORT_OFFSET: port ${port} + ${offset} = ${shifted} is past 65535`,
    ]);
  return shifted;
}

/**
 * A URL of this copy's own HTTP server as the config gives it (e.g. `console.publicUrl`, default
 * `http://127.0.0.1:9100`), moved by MIRROR_PORT_OFFSET when it names loopback at the unshifted
 * `port`: the second `pnpm start` on a machine prints and links its own console, not the first's.
 * Any other URL (a proxy's, a real host name) is the owner's and stays as written.
 */
export function ownUrlWithOffset(url: string, port: number, env: NodeJS.ProcessEnv): string {
  if (portOffset(env) === 0) return url;
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return url;
  }
  const loopback = u.hostname === "127.0.0.1" || u.hostname === "localhost" || u.hostname === "[::1]";
  const given = Number(u.port || (u.protocol === "https:" ? 443 : 80));
  if (!loopback || given !== port) return url;
  u.port = String(withPortOffset(port, env));
  const text = u.toString();
  return url.endsWith("/") || u.pathname !== "/" ? text : text.replace(/\/$/, "");
}
