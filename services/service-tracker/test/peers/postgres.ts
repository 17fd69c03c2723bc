import { execFileSync, spawnSync } from "node:child_process";
import { chownSync, existsSync, readdirSync, writeFileSync } from "node:fs";
import { userInfo } from "node:os";
import { join } from "node:path";
import { freePort, tempDir } from "@mirror/testkit";

export interface TestPostgres {
  port: number;
  user: string;
  password: string;
  stop(): void;
}

/** The directory holding initdb and pg_ctl: PATH, then Debian's /usr/lib/postgresql/<v>/bin. */
export function postgresBin(): string | null {
  const which = spawnSync("sh", ["-c", "command -v initdb"], { encoding: "utf8" });
  if (which.status === 0 && which.stdout.trim()) return join(which.stdout.trim(), "..");
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return null;
  for (const v of readdirSync(root).sort().reverse()) {
    if (existsSync(join(root, v, "bin", "initdb"))) return join(root, v, "bin");
  }
  return null;
}

/**
 * A private PostgreSQL cluster in a temp dir on a free port, with scram-sha-256 password
 * authentication over TCP. initdb refuses to run as root, so as root it runs as `postgres`.
 */
export async function startPostgres(bin: string): Promise<TestPostgres> {
  const dir = tempDir("mirror-pg-");
  const data = join(dir, "data");
  const password = "pg-s3cret-pass";
  const user = "mirror";
  writeFileSync(join(dir, "pw"), `${password}\n`);
  const asRoot = userInfo().uid === 0;
  const ids = asRoot ? pgIds() : null;
  if (ids) {
    chownSync(dir, ids.uid, ids.gid);
    chownSync(join(dir, "pw"), ids.uid, ids.gid);
  }
  const run = (cmd: string, args: string[]) =>
    execFileSync(join(bin, cmd), args, {
      stdio: "pipe",
      cwd: dir,
      ...(ids ? { uid: ids.uid, gid: ids.gid } : {}),
      env: { ...process.env, LC_ALL: "C" },
    });
  run("initdb", [
    "-D",
    data,
    "-U",
    user,
    "--auth=scram-sha-256",
    `--pwfile=${join(dir, "pw")}`,
    "-E",
    "UTF8",
    "--no-sync",
  ]);
  const port = await freePort();
  run("pg_ctl", [
    "-D",
    data,
    "-l",
    join(dir, "log"),
    "-w",
    "-t",
    "30",
    "-o",
    `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`,
    "start",
  ]);
  return {
    port,
    user,
    password,
    stop: () => {
      try {
        run("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"]);
      } catch {
        // already gone
      }
    },
  };
}

function pgIds(): { uid: number; gid: number } {
  const out = execFileSync("id", ["postgres"], { encoding: "utf8" });
  const uid = /uid=(\d+)/.exec(out)?.[1];
  const gid = /gid=(\d+)/.exec(out)?.[1];
  if (!uid || !gid) throw new Error("running as root needs a `postgres` user to run initdb as");
  return { uid: Number(uid), gid: Number(gid) };
}
