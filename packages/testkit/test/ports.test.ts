import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { test } from "node:test";
import { freePort } from "../src/ports.js";

// Port 0 hands out ports from the ephemeral range, where outgoing sockets of parallel tests take theirs.
test("freePort picks distinct, bindable ports below the kernel's ephemeral range", async () => {
  const [low] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/).map(Number);
  const ports = await Promise.all(Array.from({ length: 50 }, () => freePort()));
  assert.equal(new Set(ports).size, 50, "every port is handed out once");
  for (const p of ports) assert.ok(p >= 20_000 && p < (low as number), `port ${p} is below ${low}`);
  const srv = createServer();
  await new Promise<void>((resolve, reject) => {
    srv.once("error", reject);
    srv.listen(ports[0], "127.0.0.1", resolve);
  });
  srv.close();
});
