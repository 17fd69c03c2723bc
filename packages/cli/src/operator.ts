import type { Bus } from "@mirror/bus";
import { type EndpointContract, hasErrorCode } from "@mirror/contracts";
import { ConfigError, connectBus, createLogger, IdentityError, loadConfig } from "@mirror/kit";
import type { z } from "zod";

/**
 * Connects `mirror <command>` to the configured bus as the operator, through the bus kit like
 * every service (its key and inbox when there is an identity folder, anonymous otherwise). On
 * failure it writes the reason under `mirror <command>:` and returns the exit code: 2 for a bad
 * config or identity, 1 when NATS cannot be reached.
 */
export async function connectOperator(command: string, env: NodeJS.ProcessEnv): Promise<Bus | number> {
  let config: ReturnType<typeof loadConfig>["config"];
  try {
    config = loadConfig(env).config;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`mirror ${command}: ${err.message}\n`);
    return 2;
  }
  const bus = await connectBus("operator", {
    config,
    env,
    log: createLogger(`mirror-${command}`, undefined, "silent"),
    waitForServer: false,
  }).catch((err: Error) => err);
  if (bus instanceof IdentityError) {
    process.stderr.write(`mirror ${command}: ${bus.message}\n`);
    return 2;
  }
  if (bus instanceof Error) {
    process.stderr.write(
      `mirror ${command}: cannot reach NATS at ${config.bus.url.replace(/\/\/[^@/]*@/, "//[redacted]@")}: ${bus.message}\n`,
    );
    return 1;
  }
  return bus;
}

/** Calls one endpoint; the reply, or a sentence saying why not (`owner` names the service, for "no X is running"). */
export async function call<E extends EndpointContract>(
  bus: Bus,
  ep: E,
  data: unknown,
  owner: string,
  timeout = 10_000,
): Promise<z.output<E["reply"]> | string> {
  try {
    return await bus.request(ep, data, { timeout });
  } catch (err) {
    const e = err as Error & { code?: string };
    if (hasErrorCode(e, "MIRROR_ERR_NO_RESPONDERS")) return `no ${owner} is running (start it with \`pnpm start\`)`;
    if (hasErrorCode(e, "MIRROR_ERR_TIMEOUT")) return `the ${owner} did not answer within ${timeout}ms`;
    if (hasErrorCode(e, "MIRROR_ERR_BAD_REPLY")) return `the ${owner} sent a reply this CLI does not understand`;
    return /answered \d+: (.*)$/s.exec(e.message)?.[1] ?? e.message;
  }
}
