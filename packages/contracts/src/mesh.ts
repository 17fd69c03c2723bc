/** The business-event stream and the subjects it holds. Request/reply subjects stay outside it. */
export const STREAM = {
  name: "MIRROR",
  subjects: ["mirror.repo.>", "mirror.service.>", "mirror.heartbeat.>", "mirror.loop.>", "mirror.notify.>"],
} as const;

/** Dead letters are kept in their own stream so they can be inspected later. */
export const DLQ_STREAM = { name: "MIRROR_DLQ", subjects: ["mirror.dlq.>"] } as const;

/** Every service of the mesh, in start order, with its config section and default port. */
export const SERVICE_NAMES = ["scanner", "service-tracker", "loop-detector", "notifier", "model-rules", "history", "console"] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

export const DEFAULT_PORTS: Record<string, number> = {
  scanner: 9101,
  "service-tracker": 9102,
  "loop-detector": 9103,
  notifier: 9104,
  "model-rules": 9105,
  "model-openai": 9106,
  "model-anthropic": 9107,
  history: 9108,
  console: 9100,
};
