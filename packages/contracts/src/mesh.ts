/** The business-event stream and the subjects it holds. Request/reply subjects stay outside it. */
export const STREAM = {
  name: "MIRROR",
  subjects: ["mirror.repo.>", "mirror.service.>", "mirror.heartbeat.>", "mirror.loop.>", "mirror.notify.>"],
} as const;

/** Dead letters are kept in their own stream so they can be inspected later. */
export const DLQ_STREAM = { name: "MIRROR_DLQ", subjects: ["mirror.dlq.>"] } as const;
