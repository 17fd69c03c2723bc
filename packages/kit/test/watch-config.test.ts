// watchConfig() against real files, saved the ways editors save: written in place (truncated
// first, so a reload can read half a file), written to a temp file and renamed over, the old file
// moved aside and a new one written (vim's default), and deleted then made again. A half-written
// file is rejected, logged and counted, and the next save is applied.
import assert from "node:assert/strict";
import { mkdirSync, renameSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import type { MirrorConfig } from "@mirror/contracts";
import { type ConfigWatch, type ConfigWatchOptions, createLogger, parseConfig, watchConfig } from "@mirror/kit";
import { tempDir, waitFor } from "@mirror/testkit";
import { Registry } from "prom-client";

const yaml = (interval: string) =>
  `scanner:\n  interval: ${interval}\n  roots: []\nloops:\n  rules: { service.down: { after: 0s } }\n`;
const HALF = "scanner:\n  interval: 9m\n  roots: [\n";

interface Watched {
  file: string;
  dir: string;
  watch: ConfigWatch;
  applied: MirrorConfig[];
  lines: Record<string, unknown>[];
  count(result: string): Promise<number>;
  /** mirror_config_last_reload_successful */
  lastOk(): Promise<number>;
  rejections(): Record<string, unknown>[];
}

function start(opts: Partial<ConfigWatchOptions> = {}): Watched {
  const dir = tempDir("mirror-watch-config-");
  const file = join(dir, "mirror.yaml");
  writeFileSync(file, yaml("1m"));
  const env = { MIRROR_CONFIG: file };
  const lines: Record<string, unknown>[] = [];
  const registry = new Registry();
  const log = createLogger("kit-test", { write: (l: string) => void lines.push(JSON.parse(l)) } as never);
  const applied: MirrorConfig[] = [];
  const watch = watchConfig(
    { config: parseConfig(yaml("1m"), env, file), env, log, registry },
    {
      restartOnly: ["scanner.port"],
      apply: (next) => {
        applied.push(next);
        return { interval: next.scanner.interval };
      },
      ...opts,
    },
  );
  const count = async (result: string) =>
    (await registry.getSingleMetricAsString("mirror_config_reload_total")).match(
      new RegExp(`result="${result}"\\} (\\d+)`),
    )?.[1] ?? "0";
  return {
    file,
    dir,
    watch,
    applied,
    lines,
    count: async (result) => Number(await count(result)),
    lastOk: async () =>
      Number(
        (await registry.getSingleMetricAsString("mirror_config_last_reload_successful")).match(
          /^mirror_config_last_reload_successful (\d+)$/m,
        )?.[1],
      ),
    rejections: () => lines.filter((l) => l.msg === "config reload rejected; still running on the previous config"),
  };
}

const interval = (w: Watched) => w.watch.config.scanner.interval;

test("written in place: a half-written file is rejected with its reason and counted, the completed save is applied", async () => {
  const w = start();
  try {
    assert.equal(w.watch.watching, true);
    assert.deepEqual(
      [await w.count("ok"), await w.count("error"), await w.lastOk()],
      [0, 0, 1],
      "exported from the start",
    );
    writeFileSync(w.file, HALF);
    await waitFor("rejected", async () => (await w.count("error")) === 1, { timeout: 5_000 });
    assert.equal(await w.lastOk(), 0);
    assert.match(JSON.stringify(w.rejections()[0]?.problems), /not valid YAML/);
    assert.equal(w.applied.length, 0);
    assert.equal(interval(w), 60_000, "still the old config");
    writeFileSync(w.file, yaml("2m"));
    await waitFor("applied", () => interval(w) === 120_000, { timeout: 5_000 });
    assert.deepEqual([await w.count("ok"), await w.lastOk()], [1, 1]);
    const reloaded = w.lines.find((l) => l.msg === "config reloaded");
    assert.deepEqual([reloaded?.interval, reloaded?.sections], [120_000, ["scanner"]]);
  } finally {
    w.watch.stop();
  }
});

test("written to a temp file and renamed over: a half-written file is rejected, the next rename applied (the folder is watched, not the inode)", async () => {
  const w = start();
  const temp = join(w.dir, ".mirror.yaml.swp");
  try {
    writeFileSync(temp, HALF);
    renameSync(temp, w.file);
    await waitFor("rejected", async () => (await w.count("error")) === 1, { timeout: 5_000 });
    writeFileSync(temp, yaml("3m"));
    renameSync(temp, w.file);
    await waitFor("applied", () => interval(w) === 180_000, { timeout: 5_000 });
    // Saved again the same way: the watch goes on after the first file's inode is gone.
    writeFileSync(temp, yaml("4m"));
    renameSync(temp, w.file);
    await waitFor("applied again", () => interval(w) === 240_000, { timeout: 5_000 });
    assert.equal(await w.count("ok"), 2);
  } finally {
    w.watch.stop();
  }
});

test("moved aside and written anew (vim), or deleted and made again: each new file is read", async () => {
  const w = start();
  try {
    renameSync(w.file, `${w.file}~`);
    writeFileSync(w.file, yaml("5m"));
    await waitFor("applied", () => interval(w) === 300_000, { timeout: 5_000 });
    unlinkSync(w.file);
    await waitFor("a missing file is rejected", async () => (await w.count("error")) >= 1, { timeout: 5_000 });
    assert.match(JSON.stringify(w.rejections()[0]?.problems), /cannot read .*ENOENT/);
    assert.equal(interval(w), 300_000);
    writeFileSync(w.file, yaml("6m"));
    await waitFor("made again", () => interval(w) === 360_000, { timeout: 5_000 });
  } finally {
    w.watch.stop();
  }
});

test("the same bad save twice is looked at twice; a save that changes nothing (the running config again, a comment) is counted unchanged, not applied", async () => {
  const w = start();
  try {
    writeFileSync(w.file, `${yaml("1m")}scanner: {}\n`);
    await waitFor("rejected", async () => (await w.count("error")) === 1, { timeout: 5_000 });
    assert.ok(w.watch.reload("test") === false && (await w.count("error")) === 2, "the same text is read again");
    writeFileSync(w.file, yaml("1m"));
    await waitFor("unchanged", async () => (await w.count("unchanged")) === 1, { timeout: 5_000 });
    writeFileSync(w.file, `# a comment\n${yaml("1m")}`);
    await waitFor("unchanged again", async () => (await w.count("unchanged")) === 2, { timeout: 5_000 });
    assert.deepEqual([w.applied.length, await w.count("ok")], [0, 0]);
    writeFileSync(w.file, yaml("2m"));
    await waitFor("a real change applied", () => w.applied.length === 1, { timeout: 5_000 });
  } finally {
    w.watch.stop();
  }
});

test("an apply that throws rejects the reload and keeps the old config; validate names key paths; a restart-only key is named", async () => {
  let fail = true;
  const w = start({
    validate: (next) => {
      if (next.scanner.interval === 7 * 60_000)
        throw Object.assign(new Error("bad"), { problems: ["scanner.interval: seven minutes is refused here"] });
    },
    apply: (next) => {
      if (fail) throw new Error("cannot build the new channel");
      return { interval: next.scanner.interval };
    },
  });
  try {
    writeFileSync(w.file, yaml("8m"));
    await waitFor("rejected", async () => (await w.count("error")) === 1, { timeout: 5_000 });
    assert.deepEqual(w.rejections()[0]?.problems, ["not applied: cannot build the new channel"]);
    assert.equal(interval(w), 60_000);
    writeFileSync(w.file, yaml("7m"));
    await waitFor("refused by validate", async () => (await w.count("error")) === 2, { timeout: 5_000 });
    assert.deepEqual(w.rejections()[1]?.problems, ["scanner.interval: seven minutes is refused here"]);
    fail = false;
    writeFileSync(w.file, yaml("8m").replace("roots: []", "roots: []\n  port: 19997"));
    await waitFor("applied", () => interval(w) === 480_000, { timeout: 5_000 });
    const reloaded = w.lines.find((l) => l.msg === "config reloaded");
    assert.deepEqual(reloaded?.needsRestart, ["scanner.port"]);
    assert.ok(w.lines.some((l) => l.msg === "changed settings apply only after a restart"));
  } finally {
    w.watch.stop();
  }
});

test("a config file that is not there, or a running config that is not the file's: nothing is watched and reload() is false", async () => {
  const log = createLogger("kit-test", { write: () => true } as never);
  const dir = tempDir("mirror-watch-config-");
  const file = join(dir, "mirror.yaml");
  const missing = watchConfig(
    { config: parseConfig("", {}), env: { MIRROR_CONFIG: file }, log, registry: new Registry() },
    { apply: () => ({}) },
  );
  assert.deepEqual([missing.watching, missing.reload()], [false, false]);
  writeFileSync(file, yaml("1m"));
  let applied = 0;
  const other = watchConfig(
    { config: parseConfig(yaml("2m"), {}), env: { MIRROR_CONFIG: file }, log, registry: new Registry() },
    { apply: () => ({ n: ++applied }) },
  );
  try {
    assert.deepEqual([other.watching, other.reload()], [false, false]);
    writeFileSync(file, yaml("3m"));
    assert.equal(other.reload(), false);
    assert.equal(applied, 0, "a file the service never read is not applied");
  } finally {
    other.stop();
  }
});

test("a secretFile rotated (rewritten in place or renamed over) is a change: the new value is applied though mirror.yaml is untouched", async () => {
  const dir = tempDir("mirror-watch-config-");
  const file = join(dir, "mirror.yaml");
  mkdirSync(join(dir, "keys"));
  const keyFile = join(dir, "keys", "api-key");
  writeFileSync(keyFile, "sk-first-0123456789\n");
  const text = "model:\n  openai: { model: m, apiKey: { secretFile: keys/api-key } }\n";
  writeFileSync(file, text);
  const env = { MIRROR_CONFIG: file };
  const registry = new Registry();
  const keys: (string | undefined)[] = [];
  const raw: string[] = [];
  const log = createLogger("kit-test", { write: (l: string) => void raw.push(l) } as never);
  const apply = (next: MirrorConfig) => {
    // A careless line quoting the key (in a message, where path redaction cannot see it).
    log.child({ part: "client" }).warn(`calling with ${next.model.openai?.apiKey}`);
    return { n: keys.push(next.model.openai?.apiKey) };
  };
  const watch = watchConfig({ config: parseConfig(text, env, file), env, log, registry }, { apply });
  try {
    assert.equal(watch.watching, true);
    writeFileSync(keyFile, "sk-second-0123456789\n");
    await waitFor("rotated in place", () => watch.config.model.openai?.apiKey === "sk-second-0123456789", {
      timeout: 5_000,
    });
    writeFileSync(`${keyFile}.new`, "sk-third-0123456789\n");
    renameSync(`${keyFile}.new`, keyFile);
    await waitFor("rotated by rename", () => watch.config.model.openai?.apiKey === "sk-third-0123456789", {
      timeout: 5_000,
    });
    assert.deepEqual(keys, ["sk-second-0123456789", "sk-third-0123456789"]);
    assert.equal(
      raw.filter((l) => l.includes("calling with [redacted]")).length,
      2,
      "the new keys are blanked in every line",
    );
    assert.ok(!raw.join("").includes("sk-second") && !raw.join("").includes("sk-third"));
    // Rewritten with the same key: nothing to apply.
    writeFileSync(keyFile, "sk-third-0123456789\n");
    await waitFor(
      "counted as unchanged",
      async () =>
        /result="unchanged"\} [1-9]/.test(await registry.getSingleMetricAsString("mirror_config_reload_total")),
      { timeout: 5_000 },
    );
    assert.equal(keys.length, 2);
  } finally {
    watch.stop();
  }
});

test("a symlinked mirror.yaml: an edit of the file it points to, and a Kubernetes-style swap of its ..data link, are both applied", async () => {
  const dir = tempDir("mirror-watch-config-");
  const mount = join(dir, "mount");
  const dotfiles = join(dir, "dotfiles");
  mkdirSync(join(mount, "..2026_1"), { recursive: true });
  mkdirSync(dotfiles);
  // A ConfigMap volume: mount/mirror.yaml -> ..data/mirror.yaml, ..data -> ..2026_1.
  writeFileSync(join(mount, "..2026_1", "mirror.yaml"), yaml("1m"));
  symlinkSync("..2026_1", join(mount, "..data"));
  symlinkSync("..data/mirror.yaml", join(mount, "mirror.yaml"));
  const log = createLogger("kit-test", { write: () => true } as never);
  const env = { MIRROR_CONFIG: join(mount, "mirror.yaml") };
  const k8s = watchConfig(
    { config: parseConfig(yaml("1m"), env, env.MIRROR_CONFIG), env, log, registry: new Registry() },
    { apply: () => ({}) },
  );
  // A dotfiles link: home/mirror.yaml -> dotfiles/mirror.yaml, edited where it lives.
  writeFileSync(join(dotfiles, "mirror.yaml"), yaml("1m"));
  mkdirSync(join(dir, "home"));
  symlinkSync(join(dotfiles, "mirror.yaml"), join(dir, "home", "mirror.yaml"));
  const env2 = { MIRROR_CONFIG: join(dir, "home", "mirror.yaml") };
  const linked = watchConfig(
    { config: parseConfig(yaml("1m"), env2, env2.MIRROR_CONFIG), env: env2, log, registry: new Registry() },
    { apply: () => ({}) },
  );
  try {
    assert.deepEqual([k8s.watching, linked.watching], [true, true]);
    // The kubelet's update: a new timestamped folder, a new ..data link renamed over the old one, the old folder removed.
    mkdirSync(join(mount, "..2026_2"));
    writeFileSync(join(mount, "..2026_2", "mirror.yaml"), yaml("2m"));
    symlinkSync("..2026_2", join(mount, "..data_tmp"));
    renameSync(join(mount, "..data_tmp"), join(mount, "..data"));
    await waitFor("the swapped ConfigMap applied", () => k8s.config.scanner.interval === 120_000, { timeout: 5_000 });
    writeFileSync(join(dotfiles, "mirror.yaml"), yaml("3m"));
    await waitFor("the linked file's edit applied", () => linked.config.scanner.interval === 180_000, {
      timeout: 5_000,
    });
    // And the ConfigMap again, after the first swap.
    mkdirSync(join(mount, "..2026_3"));
    writeFileSync(join(mount, "..2026_3", "mirror.yaml"), yaml("4m"));
    symlinkSync("..2026_3", join(mount, "..data_tmp"));
    renameSync(join(mount, "..data_tmp"), join(mount, "..data"));
    await waitFor("the second swap applied", () => k8s.config.scanner.interval === 240_000, { timeout: 5_000 });
  } finally {
    k8s.stop();
    linked.stop();
  }
});

test("SIGHUP reloads every watcher of the process through one listener (twelve services in one process stay under Node's warning)", async () => {
  const before = process.listenerCount("SIGHUP");
  const log = createLogger("kit-test", { write: () => true } as never);
  let applied = 0;
  const watches = Array.from({ length: 12 }, () => {
    const file = join(tempDir("mirror-watch-config-"), "mirror.yaml");
    writeFileSync(file, yaml("1m"));
    const env = { MIRROR_CONFIG: file };
    return watchConfig(
      { config: parseConfig(yaml("1m"), env, file), env, log, registry: new Registry() },
      { apply: () => ({ n: ++applied }) },
    );
  });
  try {
    assert.equal(process.listenerCount("SIGHUP"), before + 1);
    process.emit("SIGHUP", "SIGHUP");
    assert.equal(applied, 12, "SIGHUP reads the file again even when it did not change");
  } finally {
    for (const w of watches) w.stop();
  }
  assert.equal(process.listenerCount("SIGHUP"), before);
});
