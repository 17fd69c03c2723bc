import { inboxPrefixOf } from "@mirror/bus";
import { ConfigError, loadConfig, loadIdentity } from "@mirror/kit";
import { connect, type NatsConnection } from "@nats-io/transport-node";

/**
 * Connects `mirror <command>` to the configured bus as the operator (its credentials when
 * provisioned, none otherwise). On failure it writes the reason under `mirror <command>:` and
 * returns the exit code: 2 for a bad config, 1 when NATS cannot be reached.
 */
export async function connectOperator(command: string, env: NodeJS.ProcessEnv): Promise<NatsConnection | number> {
  let url: string;
  try {
    url = loadConfig(env).config.bus.url;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`mirror ${command}: ${err.message}\n`);
    return 2;
  }
  const identity = (() => {
    try {
      return loadIdentity("operator", undefined, env);
    } catch {
      return {};
    }
  })();
  const nc = await connect({ servers: url, name: "operator", inboxPrefix: inboxPrefixOf("operator"), timeout: 5_000, maxReconnectAttempts: 0, ...identity.auth }).catch((err: Error) => err);
  if (nc instanceof Error) {
    process.stderr.write(`mirror ${command}: cannot reach NATS at ${url.replace(/\/\/[^@/]*@/, "//[redacted]@")}: ${nc.message}\n`);
    return 1;
  }
  return nc;
}
