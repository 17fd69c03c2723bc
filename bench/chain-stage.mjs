/**
 * One stage of the bus chain floor (bench/chain.ts), run in its own worker thread with its own
 * NATS connection: the bus traffic one pipeline event makes, with nothing else (no validation,
 * no Redis, no rules, no templates). Plain JavaScript: a worker thread gets no tsx loader.
 *
 * - detector: durable pull consume of the snapshot, publish `opened`, ack, ask the model
 *   (request/reply), publish `updated`; 16 messages at once, as the bus kit's consumer.
 * - model: answers the triage requests.
 * - notifier: durable pull consume of both loop events; for `opened`, POST to the webhook
 *   (undici, keep-alive), publish the receipt, ack; for `updated`, ack.
 */
import { parentPort, workerData } from "node:worker_threads";
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { Agent, request } from "undici";

const { stage, url, stream, run, hookUrl, bytes } = workerData;
const CONCURRENCY = 16;
const enc = new TextEncoder();
const dec = new TextDecoder();
const pad = (obj, size) => {
  const s = JSON.stringify(obj);
  return enc.encode(s.length >= size ? s : JSON.stringify({ ...obj, pad: "x".repeat(size - s.length - 9) }));
};

// noAsyncTraces as the bus kit connects (no stack trace captured up front per request).
const nc = await connect({ servers: url, name: `chain-${stage}`, noAsyncTraces: true });
const js = jetstream(nc);

/** A durable pull consumer with explicit ack, handling up to CONCURRENCY messages at once. */
async function consume(durable, filter, handle) {
  const jsm = await jetstreamManager(nc);
  await jsm.consumers.add(stream, {
    durable_name: durable,
    filter_subject: filter,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    max_ack_pending: 1_000,
  });
  const messages = await (await js.consumers.get(stream, durable)).consume({ max_messages: 2 * CONCURRENCY });
  const inFlight = new Set();
  void (async () => {
    for await (const m of messages) {
      while (inFlight.size >= CONCURRENCY) await Promise.race(inFlight);
      const p = handle(m).catch((err) => parentPort.postMessage({ error: String(err) }));
      inFlight.add(p);
      void p.finally(() => inFlight.delete(p));
    }
  })();
}

const token = (subject) => subject.slice(subject.lastIndexOf(".") + 1);

if (stage === "detector") {
  await consume(`chain-detector-${run}`, `chain.${run}.snap.>`, async (m) => {
    const snap = JSON.parse(dec.decode(m.data));
    const i = token(m.subject);
    const loop = { kind: "repo.dirty", repo: snap.path, rev: 1 };
    await js.publish(`chain.${run}.loop.${i}`, pad({ event: "opened", loop }, bytes.opened), {
      msgID: `chain:${run}:${i}:1`,
    });
    m.ack();
    const reply = await nc.request(`chain.${run}.triage`, pad({ loop }, bytes.opened), { timeout: 10_000 });
    const triage = JSON.parse(dec.decode(reply.data));
    await js.publish(
      `chain.${run}.loop.${i}`,
      pad({ event: "updated", loop: { ...loop, rev: 2, triage } }, bytes.updated),
      { msgID: `chain:${run}:${i}:2` },
    );
  });
} else if (stage === "model") {
  nc.subscribe(`chain.${run}.triage`, {
    callback: (_err, m) => {
      JSON.parse(dec.decode(m.data));
      m.respond(
        enc.encode(JSON.stringify({ severity: "low", summary: "uncommitted changes", nextAction: "commit or stash" })),
      );
    },
  });
} else if (stage === "notifier") {
  const agent = new Agent({ keepAliveTimeout: 60_000, connections: 8 });
  await consume(`chain-notifier-${run}`, `chain.${run}.loop.>`, async (m) => {
    const ev = JSON.parse(dec.decode(m.data));
    if (ev.event === "opened") {
      const body = JSON.stringify({
        status: "firing",
        alerts: [{ status: "firing", labels: { alertname: ev.loop.kind, repo: ev.loop.repo } }],
      });
      const res = await request(hookUrl, {
        method: "POST",
        body,
        headers: { "content-type": "application/json" },
        dispatcher: agent,
      });
      await res.body.dump();
      await js.publish(
        `chain.${run}.receipt.${token(m.subject)}`,
        pad({ channel: "bench", status: "sent" }, bytes.receipt),
        { msgID: `chain:${run}:${token(m.subject)}:sent` },
      );
    }
    m.ack();
  });
}
await nc.flush();
parentPort.postMessage({ ready: true });
parentPort.on("message", async (msg) => {
  if (msg === "stop") {
    await nc.drain().catch(() => undefined);
    parentPort.postMessage({ stopped: true });
  }
});
