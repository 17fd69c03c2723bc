import { BusError } from "./errors.js";

/**
 * The servers of `bus.url`: one URL, or the comma-separated nodes of a cluster. nats.js takes a
 * list and moves to another entry (and to the nodes the cluster advertises) when one goes.
 */
export function serverList(url: string): string[] {
  const servers = url.split(",").map((s) => s.trim());
  if (servers.some((s) => !s))
    throw new BusError(
      "MIRROR_ERR_CONFIG",
      `bus.url "${url.replace(/\/\/[^@/,]*@/g, "//[redacted]@")}" has an empty entry: give server URLs separated by commas`,
    );
  return servers;
}
