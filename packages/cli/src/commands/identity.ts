import { resolve } from "node:path";
import { type IdentitySpec, identitiesOf, permissionsOf } from "@mirror/bus";
import { ManifestError } from "@mirror/contracts";
import { ConfigError, identityDir, IdentityError, loadConfig, readIdentityTable, readPublicKeys } from "@mirror/kit";
import { initIdentities, SERVER_CONF_FILE } from "../identity/keys.js";
import { PROVISIONER, provisionAsOperator, provisionerSeed } from "../identity/provision.js";
import { loadManifests } from "../manifests.js";

const USAGE = `usage:
  mirror identity init --out DIR [--rotate] [--listen HOST:PORT] [--store-dir PATH]
      an nkey per service (DIR/<service>.nk, mode 0600), DIR/public-keys.json, DIR/accounts.conf
      granting each key only its own subjects, and DIR/${SERVER_CONF_FILE} (listen, JetStream,
      include accounts.conf); existing keys are kept unless --rotate
  mirror identity provision [--dir DIR]
      as the operator key, create the streams and every durable consumer (pnpm start does this)
  mirror identity show [--dir DIR]
      each identity's public key, durable consumers and permissions
DIR defaults to MIRROR_IDENTITY_DIR or bus.identityDir.
`;

type Flags = Record<string, string | boolean>;

function parseFlags(args: string[], valued: string[], boolean: string[]): Flags | string {
  const out: Flags = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    const [name, inline] = a.startsWith("--") ? a.slice(2).split(/=(.*)/s, 2) : [undefined, undefined];
    if (name && boolean.includes(name) && inline === undefined) out[name] = true;
    else if (name && valued.includes(name)) {
      const v = inline ?? args[++i];
      if (!v) return `--${name} needs a value`;
      out[name] = v;
    } else return `unknown argument ${a}`;
  }
  return out;
}

function fail(message: string, code = 2): number {
  process.stderr.write(`mirror identity: ${message}\n`);
  return code;
}

function init(args: string[], table: readonly IdentitySpec[]): number {
  const flags = parseFlags(args, ["out", "listen", "store-dir"], ["rotate"]);
  if (typeof flags === "string") return fail(`${flags}\n${USAGE}`);
  if (typeof flags.out !== "string") return fail(`init needs --out DIR\n${USAGE}`);
  const dir = resolve(flags.out);
  const listen = typeof flags.listen === "string" ? flags.listen : "127.0.0.1:4222";
  const storeDir = resolve(typeof flags["store-dir"] === "string" ? flags["store-dir"] : resolve(dir, "nats"));
  const r = initIdentities(dir, { rotate: flags.rotate === true, listen, storeDir }, table);
  for (const [name, k] of Object.entries(r.keys))
    process.stdout.write(`${k.action.padEnd(7)} ${name.padEnd(16)} ${k.publicKey}\n`);
  process.stdout.write(
    `wrote ${dir}/public-keys.json, ${dir}/identities.json, ${dir}/accounts.conf and ${dir}/${SERVER_CONF_FILE}\n` +
      "next:\n" +
      `  nats-server -c ${dir}/${SERVER_CONF_FILE}        (or: nats-server --signal reload, if it runs with it)\n` +
      `  ${listen === "127.0.0.1:4222" ? "" : `MIRROR_NATS_URL=nats://${listen} `}MIRROR_IDENTITY_DIR=${dir} pnpm start   (provisions streams and consumers with ${PROVISIONER}.nk)\n`,
  );
  return 0;
}

function dirFrom(
  flags: Flags,
  env: NodeJS.ProcessEnv,
): { dir?: string; config: import("@mirror/contracts").MirrorConfig } {
  const config = loadConfig(env).config;
  const dir = typeof flags.dir === "string" ? resolve(flags.dir) : identityDir(config.bus, env);
  return { dir, config };
}

async function provisionCmd(
  args: string[],
  env: NodeJS.ProcessEnv,
  fromManifests: () => Promise<IdentitySpec[]>,
): Promise<number> {
  const flags = parseFlags(args, ["dir"], []);
  if (typeof flags === "string") return fail(`${flags}\n${USAGE}`);
  const { dir, config } = dirFrom(flags, env);
  if (!dir) return fail("no identity folder: give --dir DIR or set MIRROR_IDENTITY_DIR");
  const seed = provisionerSeed(dir);
  if (!seed) return fail(`no ${PROVISIONER}.nk in ${dir}: the provisioning identity's key is needed`);
  try {
    // What the folder's keys and permissions were made for (compose's provision container has no
    // services/ folder); the manifests only for a folder made before identities.json.
    const table = readIdentityTable(dir) ?? (await fromManifests());
    const r = await provisionAsOperator(config, seed, table);
    process.stdout.write(
      `provisioned streams ${r.streams.join(", ")} and ${r.consumers.length} durable consumers: ${r.consumers.join(", ")}\n`,
    );
    return 0;
  } catch (err) {
    return fail(`provisioning failed: ${(err as Error).message}`, 1);
  }
}

function show(args: string[], env: NodeJS.ProcessEnv, table: readonly IdentitySpec[]): number {
  const flags = parseFlags(args, ["dir"], []);
  if (typeof flags === "string") return fail(`${flags}\n${USAGE}`);
  const { dir } = dirFrom(flags, env);
  const keys = dir ? readPublicKeys(dir) : {};
  for (const spec of table) {
    const p = permissionsOf(spec, table);
    process.stdout.write(`${spec.name}  ${keys[spec.name] ?? "(no key)"}\n`);
    if (spec.consumes.length)
      process.stdout.write(`  consumes   ${spec.consumes.map((c) => `${c.durable} (${c.filter})`).join(", ")}\n`);
    process.stdout.write(`  publish    ${p.publish.join(" ")}\n  subscribe  ${p.subscribe.join(" ")}\n`);
  }
  return 0;
}

/** `mirror identity init|provision|show`: who each service is on the bus and what it may say. */
export async function run(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const [sub, ...rest] = args;
  try {
    if (sub === "init" || sub === "provision" || sub === "show") {
      // One key and one permission block per service manifest (services/*/src/manifest.ts), plus operator and jobs.
      const manifests = async () => identitiesOf(await loadManifests());
      if (sub === "init") return init(rest, await manifests());
      if (sub === "provision") return await provisionCmd(rest, env, manifests);
      return show(rest, env, await manifests());
    }
  } catch (err) {
    if (err instanceof ConfigError || err instanceof IdentityError || err instanceof ManifestError)
      return fail(err.message);
    throw err;
  }
  process.stdout.write(USAGE);
  return sub === undefined || sub === "help" || sub === "--help" ? 0 : 2;
}
