import { loopsSnooze } from "@mirror/contracts";
import { loopCommand } from "./loops.js";

/**
 * `mirror snooze <loop-id> <duration>` or `--for 2h` or `--until 2026-03-02T09:00:00Z`: quiet
 * until then; it opens again at that time if its condition still holds.
 */
export function run(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  // `mirror snooze ID 2h`: a second positional argument is the duration.
  const positional = args.filter(
    (a, i) => !a.startsWith("--") && !(i > 0 && ["--for", "--until", "--note", "--by"].includes(args[i - 1] as string)),
  );
  const duration = positional[1];
  const rest = duration === undefined ? args : args.filter((a) => a !== duration);
  return loopCommand("snooze", loopsSnooze, duration === undefined ? rest : [...rest, "--for", duration], env, {}, [
    "--for",
    "--until",
  ]);
}
