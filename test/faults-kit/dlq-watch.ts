// Dead letters as they are published, indexed by the Nats-Msg-Id of the message they refused,
// so a property test can wait for the one it caused.
import type { DeadLetter } from "@mirror/contracts";
import type { NatsConnection } from "@nats-io/nats-core";
import { waitFor } from "@mirror/testkit";

export interface DlqWatch {
  readonly byId: Map<string, DeadLetter & { dlqSubject: string }>;
  wait(id: string, timeout?: number): Promise<DeadLetter & { dlqSubject: string }>;
  stop(): void;
}

export function watchDlq(nc: NatsConnection): DlqWatch {
  const byId = new Map<string, DeadLetter & { dlqSubject: string }>();
  const sub = nc.subscribe("mirror.dlq.>", {
    callback: (err, msg) => {
      if (err) return;
      const d = msg.json<DeadLetter>();
      const id = d.headers?.["Nats-Msg-Id"];
      if (id) byId.set(id, { ...d, dlqSubject: msg.subject });
    },
  });
  return {
    byId,
    wait: (id, timeout = 30_000) => waitFor(`the dead letter of ${id}`, () => byId.get(id), { timeout, interval: 20 }),
    stop: () => sub.unsubscribe(),
  };
}
