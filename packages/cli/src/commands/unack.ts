import { loopsUnack } from "@mirror/contracts";
import { loopCommand } from "./loops.js";

/** `mirror unack <loop-id>`: takes back an acknowledgement; the loop is open (and notified) again. */
export function run(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return loopCommand("unack", loopsUnack, args, env);
}
