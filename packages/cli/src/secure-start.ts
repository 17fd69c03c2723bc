import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import type { IdentitySpec } from "@mirror/bus";
import type { MirrorConfig } from "@mirror/contracts";
import { identityDir, storePassword } from "@mirror/kit";
import { initIdentities, missingFiles, REDIS_ACL_FILE, staleTable } from "./identity/keys.js";

type Say = (msg: string) => void;

/**
 * The identity folder `pnpm start` runs with: the configured one, else `<data>/identity`, made
 * at first start (keys 0600) so that a mesh nobody configured still has identity on. Undefined
 * only with MIRROR_IDENTITY=off, the one opt-out, which is said loudly.
 */
export function defaultIdentity(
  config: MirrorConfig,
  env: NodeJS.ProcessEnv,
  dataRoot: string,
  natsPort: number,
  table: readonly IdentitySpec[],
  say: Say,
  warn: Say,
): string | undefined {
  if (env.MIRROR_IDENTITY === "off") {
    warn(
      "MIRROR_IDENTITY=off: identity is OFF. Services connect to NATS anonymously and sign nothing; any process that can reach NATS can forge events. Use this only for tests and comparisons.",
    );
    return undefined;
  }
  if (env.MIRROR_IDENTITY && env.MIRROR_IDENTITY !== "on") {
    throw new Error(`MIRROR_IDENTITY must be "off" (or unset), not "${env.MIRROR_IDENTITY}"`);
  }
  const configured = identityDir(config.bus, env);
  if (configured) {
    if (existsSync(configured) && staleTable(configured, table)) {
      warn(
        `${configured} was made from other service manifests than these: run \`pnpm mirror identity init --out ${configured}\` (keys are kept) and reload nats-server`,
      );
    }
    return configured;
  }
  const dir = join(dataRoot, "identity");
  // Made at first start, and made again (keys kept) when a manifest changed what a service may say.
  if (missingFiles(dir, table).length || staleTable(dir, table)) {
    initIdentities(dir, { rotate: false, listen: `127.0.0.1:${natsPort}`, storeDir: join(dataRoot, "nats") }, table);
    say(`made the mesh's identities in ${dir} (one nkey per service, mode 0600; NATS permissions; Redis users)`);
  }
  return dir;
}

/** One RESP exchange per command on a fresh connection; each reply's first line. */
export function redisExchange(host: string, port: number, commands: string[][], timeoutMs = 2_000): Promise<string[]> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    let buf = "";
    const done = (out: string[]) => {
      s.destroy();
      resolve(out);
    };
    s.setTimeout(timeoutMs, () => done(buf.split("\r\n").filter(Boolean)));
    s.once("error", () => done([]));
    s.once("connect", () => {
      s.write(
        commands
          .map((c) => `*${c.length}\r\n${c.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join("")}`)
          .join(""),
      );
    });
    s.on("data", (d) => {
      buf += d.toString("utf8");
      const lines = buf.split("\r\n").filter(Boolean);
      if (lines.length >= commands.length) done(lines.slice(0, commands.length));
    });
  });
}

/**
 * `identity` when the Redis at host:port knows the services' ACL users (the embedded one started
 * with users.acl, or one the owner loaded it into); `url` otherwise, with a warning when that
 * Redis lets anyone in through its default user.
 */
export async function redisAuthFor(
  host: string,
  port: number,
  dir: string | undefined,
  table: readonly IdentitySpec[],
  warn: Say,
): Promise<"identity" | "url"> {
  const probe = dir
    ? table.find((s) => (s.kind ?? "service") === "service" && existsSync(join(dir, `${s.name}.nk`)))
    : undefined;
  if (dir && probe) {
    const [auth] = await redisExchange(host, port, [
      ["AUTH", probe.name, storePassword(readFileSync(join(dir, `${probe.name}.nk`), "utf8"))],
    ]);
    if (auth === "+OK") return "identity";
  }
  const [ping] = await redisExchange(host, port, [["PING"]]);
  if (ping === "+PONG") {
    warn(
      `the Redis at ${host}:${port} lets any client in through its default user: a local process can change the mesh's state around the bus signatures.` +
        (dir
          ? ` Load ${join(dir, REDIS_ACL_FILE)} into it (redis-server --aclfile ...) or let pnpm start run the embedded one.`
          : ""),
    );
  }
  if (ping?.startsWith("-NOAUTH") && dir && probe)
    warn(
      `the Redis at ${host}:${port} requires a login and does not know the users of ${dir} (its ${REDIS_ACL_FILE} was made from another identity folder?): ` +
        `the services will log in with store.url's credentials, if any. Load ${join(dir, REDIS_ACL_FILE)} into it (redis-server --aclfile ...) or put a login in store.url.`,
    );
  return "url";
}

/** A published advisory: versions below `fixed` (in the same major.minor line, or any older line) are affected. */
interface Advisory {
  id: string;
  what: string;
  /** The first fixed release of each maintained line, oldest line first. */
  fixed: string[];
}

const ADVISORIES: Record<"nats-server" | "redis-server", Advisory[]> = {
  "nats-server": [
    {
      id: "CVE-2025-30215",
      what: "JetStream API: an account holder can delete or modify other accounts' streams",
      fixed: ["2.10.27", "2.11.1"],
    },
    {
      id: "CVE-2026-33222",
      what: "JetStream management API authorization bypass (backup/restore)",
      fixed: ["2.11.15"],
    },
  ],
  "redis-server": [
    {
      id: "CVE-2025-49844",
      what: "Lua use-after-free: an authenticated client can run code in the server",
      fixed: ["6.2.20", "7.2.11", "7.4.6", "8.0.4", "8.2.2"],
    },
  ],
};

const parts = (v: string) => v.split(".").map((n) => Number.parseInt(n, 10) || 0);
function below(a: string, b: string): boolean {
  const [x, y] = [parts(a), parts(b)];
  for (let i = 0; i < 3; i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) < (y[i] ?? 0);
  return false;
}

/** The advisories that apply to `version`: a fix exists in its line above it, or its line got none (older than every fixed line, or between them). */
export function advisoriesFor(
  bin: "nats-server" | "redis-server",
  version: string,
): Array<Advisory & { fixedIn: string }> {
  const [maj, min] = parts(version);
  const out: Array<Advisory & { fixedIn: string }> = [];
  for (const a of ADVISORIES[bin]) {
    const sameLine = a.fixed.find((f) => parts(f)[0] === maj && parts(f)[1] === min);
    const newer = a.fixed.find((f) => below(version, f));
    if (sameLine ? below(version, sameLine) : newer !== undefined) out.push({ ...a, fixedIn: sameLine ?? newer ?? "" });
  }
  return out;
}

/** The version a server binary reports (`nats-server: v2.9.10`, `Redis server v=7.0.15 ...`). */
export function binaryVersion(bin: string): string | undefined {
  const r = spawnSync(bin, ["--version"], { encoding: "utf8", timeout: 5_000 });
  return /v=?(\d+\.\d+\.\d+)/.exec(`${r.stdout ?? ""}${r.stderr ?? ""}`)?.[1];
}

/** Warns about each known advisory of the server binary `pnpm start` is about to run. */
export function warnAdvisories(bin: "nats-server" | "redis-server", warn: Say, version = binaryVersion(bin)): void {
  if (!version) return;
  for (const a of advisoriesFor(bin, version)) {
    warn(
      `${bin} ${version} has a known advisory, ${a.id} (${a.what}); fixed in ${a.fixedIn}. Upgrade it (your distribution may have backported the fix; see docs/SECURITY.md).`,
    );
  }
}

/** The version in the INFO line a NATS server sends every client on connect (no credentials needed). */
export function natsServerVersion(host: string, port: number, timeoutMs = 2_000): Promise<string | undefined> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    let buf = "";
    const done = (v: string | undefined) => {
      s.destroy();
      resolve(v);
    };
    s.setTimeout(timeoutMs, () => done(undefined));
    s.once("error", () => done(undefined));
    s.on("data", (d) => {
      buf += d.toString("utf8");
      const line = buf.split("\r\n")[0] ?? "";
      if (!buf.includes("\r\n")) return;
      try {
        done(line.startsWith("INFO ") ? (JSON.parse(line.slice(5)) as { version?: string }).version : undefined);
      } catch {
        done(undefined);
      }
    });
  });
}
