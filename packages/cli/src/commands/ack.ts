import { loopsAck } from "@mirror/contracts";
import { loopCommand } from "./loops.js";

/** `mirror ack <loop-id>`: someone is on it; no repeat notifications, and it closes itself on recovery. */
export function run(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return loopCommand("ack", loopsAck, args, env);
}
