// Issue 24, bad input: two replicas of one service started with different config files. Each
// replica keeps a digest of its config section beside its peers' (in the service's own Redis
// prefix) and compares: both warn naming each other and the differing keys, and
// mirror_config_mismatch is 1 on both until a hot reload makes them agree.
import assert from "node:assert/strict";
import { once } from "node:events";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import {
  type ServerHandle,
  type ServiceProcess,
  spawnService,
  startNats,
  startRedis,
  tempDir,
  waitFor,
} from "@mirror/testkit";
import { listenablePort } from "./faults-kit/mesh.js";

let nats: ServerHandle;
let redis: ServerHandle;
before(async () => {
  [nats, redis] = await Promise.all([startNats(), startRedis()]);
});
after(async () => {
  await Promise.all([nats?.dispose(), redis?.dispose()]);
});

async function mismatchGauge(port: number): Promise<number | undefined> {
  const text = await fetch(`http://127.0.0.1:${port}/metrics`).then(
    (r) => r.text(),
    () => "",
  );
  const m = /^mirror_config_mismatch (\S+)$/m.exec(text);
  return m ? Number(m[1]) : undefined;
}

test("two model-rules replicas with different config files: both warn, naming each other and model.home; the metric is 1 until a reload agrees", {
  timeout: 120_000,
}, async () => {
  const dir = tempDir("mirror-config-mismatch-");
  const [portA, portB] = [await listenablePort(), await listenablePort()];
  const yaml = (port: number, home: string) => `model: { port: ${port}, home: "${home}" }\n`;
  const env = { MIRROR_NATS_URL: nats.url, MIRROR_REDIS_URL: redis.url };
  const procs: ServiceProcess[] = [
    spawnService({ dir, service: "model-rules", label: "a", yaml: yaml(portA, "/home/a"), env }),
    spawnService({ dir, service: "model-rules", label: "b", yaml: yaml(portB, "/home/b"), env }),
  ];
  const [a, b] = procs as [ServiceProcess, ServiceProcess];
  const dump = () => procs.flatMap((p) => p.output.slice(-8).map((l) => `${p.label}: ${l}`)).join("\n");
  try {
    const mismatch = (p: ServiceProcess) => p.output.filter((l) => l.includes("CONFIG MISMATCH"));
    await waitFor("both replicas warn", () => mismatch(a).length > 0 && mismatch(b).length > 0, {
      timeout: 60_000,
    }).catch((err: Error) => {
      throw new Error(`${err.message}\n${dump()}`);
    });
    for (const [p, other] of [
      [a, b],
      [b, a],
    ] as const) {
      const line = JSON.parse(mismatch(p)[0] as string) as {
        self: string;
        peer: string;
        differs: string[];
        level: number | string;
      };
      assert.deepEqual(line.differs, ["home"], "only model.home differs (the port does not count)");
      assert.match(line.self, new RegExp(`:${p === a ? portA : portB}$`));
      assert.match(line.peer, new RegExp(`:${other === a ? portA : portB}$`));
      assert.ok(mismatch(p)[0]?.includes("model.home differ"));
      assert.ok(!mismatch(p)[0]?.includes("/home/"), "values are never printed");
    }
    assert.equal(await mismatchGauge(portA), 1);
    assert.equal(await mismatchGauge(portB), 1);

    // B's file is edited to A's home: the hot reload publishes its new digest at once.
    writeFileSync(join(dir, "b.yaml"), yaml(portB, "/home/a"));
    await waitFor(
      "both agree after the reload",
      async () => (await mismatchGauge(portA)) === 0 && (await mismatchGauge(portB)) === 0,
      { timeout: 30_000, interval: 250 },
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${dump()}`);
    });
    assert.ok(
      b.output.some((l) => l.includes("run with the same config again")),
      dump(),
    );
  } finally {
    for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill("SIGTERM");
    await Promise.all(
      procs.map((p) => (p.child.exitCode === null && p.child.signalCode === null ? once(p.child, "exit") : undefined)),
    );
  }
});
