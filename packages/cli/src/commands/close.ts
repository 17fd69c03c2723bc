import { loopsClose } from "@mirror/contracts";
import { loopCommand } from "./loops.js";

/** `mirror close <loop-id>`: closes it by hand; it stays closed until its condition clears and comes back. */
export function run(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return loopCommand("close", loopsClose, args, env);
}
