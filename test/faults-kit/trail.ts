import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";

/**
 * What the MIRROR stream holds about some names (a check, a repo), read back after a fault test
 * missed an outcome: every stored status, loop event and receipt whose subject or payload names
 * one of them, one line each, oldest first. So a failure says which stage lost the event (never
 * stored, stored but not turned into a loop event, or a loop event without its notification).
 */
export async function streamTrail(url: string, names: readonly string[], max = 2_000): Promise<string> {
  // Right after a fault the stream may have no leader yet: a few tries.
  for (let attempt = 1; ; attempt++) {
    try {
      return await readTrail(url, names, max);
    } catch (err) {
      if (attempt >= 5) return `(the stream could not be read: ${(err as Error).message})`;
      await new Promise((r) => setTimeout(r, 3_000));
    }
  }
}

async function readTrail(url: string, names: readonly string[], max: number): Promise<string> {
  const nc = await connect({ servers: url.split(","), timeout: 5_000, reconnect: false });
  try {
    const c = await jetstream(nc).consumers.get("MIRROR", { filter_subjects: "mirror.>" });
    const lines: string[] = [];
    const batch = await c.fetch({ max_messages: max, expires: 3_000 });
    for await (const m of batch) {
      const text = new TextDecoder().decode(m.data);
      const wanted =
        /^mirror\.(service\.status|loop|notify)\./.test(m.subject) &&
        names.some((n) => m.subject.endsWith(`.${n}`) || text.includes(`"${n}"`));
      if (wanted) {
        const d = JSON.parse(text) as Record<string, unknown>;
        const loop = d.loop as Record<string, unknown> | undefined;
        const brief = loop
          ? { id: loop.id, status: loop.status, rev: loop.rev }
          : { state: d.state, status: d.status, observedAt: d.observedAt, seq: d.seq, deliveryId: d.deliveryId };
        lines.push(
          `#${m.seq} ${m.subject} id=${m.headers?.get("Nats-Msg-Id") ?? ""} src=${m.headers?.get("ce-source") ?? ""} ${JSON.stringify(brief)}`,
        );
      }
      if (m.info.pending === 0) break;
    }
    if (lines.length === 0) lines.push("(nothing stored names them)");
    // Where each durable consumer stands: a message stored but never handled shows here.
    const jsm = await jetstreamManager(nc);
    for await (const ci of jsm.consumers.list("MIRROR"))
      lines.push(
        `consumer ${ci.name}: delivered ${ci.delivered.stream_seq}, ack floor ${ci.ack_floor.stream_seq}, pending ${ci.num_pending}, ack pending ${ci.num_ack_pending}, redelivered ${ci.num_redelivered}, waiting ${ci.num_waiting}, leader ${ci.cluster?.leader ?? "-"}`,
      );
    return lines.join("\n");
  } finally {
    await nc.close().catch(() => undefined);
  }
}
