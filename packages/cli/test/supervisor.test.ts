// The supervisor behind `pnpm start`: a worker thread (how --single runs the services) that throws
// is restarted like a crashed process, labelled lines keep their service's prefix, and stop()
// ends a worker by message.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Writable } from "node:stream";
import { test } from "node:test";
import { tempDir, waitFor } from "@mirror/testkit";
import { Supervisor } from "../src/supervisor.js";

function sink() {
  const lines: string[] = [];
  const out = new Writable({
    write(chunk, _enc, done) {
      lines.push(...String(chunk).split("\n").filter(Boolean));
      done();
    },
  });
  return { lines, out };
}

test("a worker thread that throws is restarted; a signal is passed on; a stop message ends it", async () => {
  const dir = tempDir("mirror-supervisor-");
  const script = join(dir, "members.mjs");
  // Crashes on its first run (an uncaught error), runs until told to stop on the second.
  writeFileSync(
    script,
    `import { parentPort } from "node:worker_threads";
import { existsSync, writeFileSync } from "node:fs";
const mark = ${JSON.stringify(join(dir, "ran"))};
console.log(JSON.stringify({ service: "alpha", msg: "service started" }));
if (!existsSync(mark)) { writeFileSync(mark, ""); setTimeout(() => { throw new Error("boom"); }, 50); }
else parentPort.on("message", (m) => { if (m.t === "signal") console.log(JSON.stringify({ service: "alpha", msg: "got " + m.signal })); if (m.t === "stop") { console.log(JSON.stringify({ service: "beta", msg: "service stopped" })); process.exit(0); } });
`,
  );
  const { lines, out } = sink();
  const sup = new Supervisor(
    [
      {
        name: "mirror",
        args: [script],
        labels: ["alpha", "beta"],
        thread: { maxOldGenerationSizeMb: 64, maxYoungGenerationSizeMb: 4 },
      },
    ],
    process.env,
    dir,
    out,
  );
  sup.start();
  await waitFor(
    "the worker restarted after its uncaught error",
    () => lines.filter((l) => /^alpha +\| .*service started/.test(l)).length >= 2,
    { timeout: 10_000 },
  );
  assert.ok(
    lines.some((l) => /^mirror +\| uncaught: Error: boom/.test(l)),
    lines.join("\n"),
  );
  assert.ok(
    lines.some((l) => /^mirror +\| exited \(1\); restarting/.test(l)),
    lines.join("\n"),
  );
  sup.signal("SIGHUP");
  await waitFor("SIGHUP passed on to the worker", () => lines.some((l) => /^alpha +\| .*got SIGHUP/.test(l)), {
    timeout: 5_000,
  });
  await sup.stop(5_000);
  assert.ok(
    lines.some((l) => /^beta +\| .*service stopped/.test(l)),
    `stopped by message\n${lines.join("\n")}`,
  );
  assert.equal(sup.running, 0);
});

test("a service that exits on a config error (2) is not restarted, and onExit tells when none runs any more", async () => {
  const dir = tempDir("mirror-supervisor-");
  const bad = join(dir, "bad.mjs");
  const good = join(dir, "good.mjs");
  writeFileSync(bad, `console.log("bad config"); process.exit(2);\n`);
  // Ends on a config error too, later (as a second service reading the same bad file would).
  writeFileSync(good, `setTimeout(() => process.exit(2), 400);\n`);
  const { lines, out } = sink();
  const seen: { configError: boolean; running: number }[] = [];
  const sup: Supervisor = new Supervisor(
    [
      { name: "bad", args: [bad] },
      { name: "good", args: [good] },
    ],
    process.env,
    dir,
    out,
    { onExit: () => seen.push({ configError: sup.configError, running: sup.running }) },
  );
  sup.start();
  await waitFor("both ended", () => seen.length >= 2, { timeout: 10_000 });
  assert.deepEqual(seen, [
    { configError: true, running: 1 },
    { configError: true, running: 0 },
  ]);
  assert.equal(lines.filter((l) => /exited with a config error \(2\); not restarting/.test(l)).length, 2);
  await sup.stop(1_000);
});
