import { z } from "zod";
import { duration } from "../duration.js";
import { Severity } from "../events/common.js";
import { Port } from "./port.js";

export const RuleConfig = z.strictObject({
  after: duration("0s").optional(),
  severity: Severity.optional(),
  enabled: z.boolean().default(true),
});
export type RuleConfig = z.infer<typeof RuleConfig>;

export const LoopsConfig = z
  .strictObject({
    port: Port.default(9103),
    rules: z.record(z.string(), RuleConfig).default({}),
    tick: duration("1s"),
    /** Ask the model service to triage each new loop. */
    triage: z.boolean().default(true),
    triageTimeout: duration("10s"),
  })
  .prefault({});
