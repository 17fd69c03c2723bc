import { z } from "zod";
import { defineEndpoint } from "./event.js";
import { Loop, LoopStatus } from "./events/loop.js";
import { IsoTime } from "./events/common.js";

/** Reply of any command that failed: a stable code and a message. */
export const CommandError = z.object({ error: z.object({ code: z.string(), message: z.string() }) });
export type CommandError = z.infer<typeof CommandError>;

const By = z.string().min(1).max(200).default("operator");

export const LoopsListRequest = z.object({ status: LoopStatus.optional(), kind: z.string().optional() });
export const LoopsListReply = z.object({ loops: z.array(Loop) });
export const LoopCommand = z.object({ loopId: z.string().min(1), by: By, note: z.string().max(2_000).optional() });
export const LoopSnooze = LoopCommand.extend({ until: IsoTime.optional(), for: z.string().optional() });
export const LoopReply = z.object({ loop: Loop });

/** Commands owned by the loop-detector (Services API service "loop-detector"). */
export const loopsList = defineEndpoint({ name: "loops-list", subject: "mirror.loops.list", request: LoopsListRequest, reply: LoopsListReply });
export const loopsAck = defineEndpoint({ name: "loops-ack", subject: "mirror.loops.ack", request: LoopCommand, reply: LoopReply });
export const loopsClose = defineEndpoint({ name: "loops-close", subject: "mirror.loops.close", request: LoopCommand, reply: LoopReply });
export const loopsSnooze = defineEndpoint({ name: "loops-snooze", subject: "mirror.loops.snooze", request: LoopSnooze, reply: LoopReply });
export const loopsUnack = defineEndpoint({ name: "loops-unack", subject: "mirror.loops.unack", request: LoopCommand, reply: LoopReply });

/** Commands owned by the scanner. */
export const ScanNowRequest = z.object({ path: z.string().optional() });
export const ScanNowReply = z.object({ repos: z.number().int().nonnegative(), published: z.number().int().nonnegative() });
export const scanNow = defineEndpoint({ name: "scan-now", subject: "mirror.scan.now", request: ScanNowRequest, reply: ScanNowReply });
