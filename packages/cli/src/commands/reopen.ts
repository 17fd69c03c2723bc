import { loopsReopen } from "@mirror/contracts";
import { loopCommand } from "./loops.js";

/** `mirror reopen <loop-id>`: back to open (from acknowledged, snoozed, or closed by hand while still true). */
export function run(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return loopCommand("reopen", loopsReopen, args, env);
}
