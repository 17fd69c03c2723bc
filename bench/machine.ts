import { execFileSync } from "node:child_process";
import { arch, cpus, loadavg, platform, release, totalmem } from "node:os";

function version(bin: string, args: string[]): string {
  try {
    return (
      execFileSync(bin, args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] })
        .trim()
        .split("\n")[0] ?? ""
    );
  } catch {
    return "not found";
  }
}

/** What the figures were measured on: they only mean something next to it. */
export function machine() {
  const list = cpus();
  return {
    cpu: list[0]?.model ?? "unknown",
    cores: list.length,
    memoryGB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    os: `${platform()} ${release()} ${arch()}`,
    node: process.version,
    natsServer: version(process.env.NATS_SERVER_BIN ?? "nats-server", ["--version"]),
    redisServer: version(process.env.REDIS_SERVER_BIN ?? "redis-server", ["--version"]).replace(/ sha=.*/, ""),
    git: version("git", ["--version"]),
    /** 1-minute load average when the run started; others' work on the machine shows here. */
    loadAtStart: Math.round((loadavg()[0] ?? 0) * 100) / 100,
  };
}

export type Machine = ReturnType<typeof machine>;
