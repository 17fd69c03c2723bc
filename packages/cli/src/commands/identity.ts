import { resolve } from "node:path";
import { randomBytes } from "node:crypto";
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type IdentitySpec, identitiesOf, permissionsOf } from "@mirror/bus";
import { checkSites, ManifestError, siteIdentity, subjectToken, trackerSites } from "@mirror/contracts";
import { ConfigError, identityDir, IdentityError, loadConfig, readIdentityTable, readPublicKeys } from "@mirror/kit";
import { initIdentities, SERVER_CONF_FILE } from "../identity/keys.js";
import { ACCOUNTS_CONF_FILE, renderAccountsConf } from "../identity/server-conf.js";
import { PROVISIONER, provisionAsOperator, provisionerSeed } from "../identity/provision.js";
import { loadManifests } from "../manifests.js";

const USAGE = `usage:
  mirror identity init --out DIR [--rotate] [--listen HOST:PORT] [--store-dir PATH]
      an nkey per service (DIR/<service>.nk, mode 0600), DIR/public-keys.json, DIR/accounts.conf
      granting each key only its own subjects, and DIR/${SERVER_CONF_FILE} (listen, JetStream,
      include accounts.conf); existing keys are kept unless --rotate
  mirror identity provision [--dir DIR]
      as the operator key, create the streams and every durable consumer (pnpm start does this)
  mirror identity add-site SITE [--dir DIR] [--hub HOST:PORT]
      an identity for the trackers at remote probe site SITE (site-SITE.nk): it may publish only the
      statuses of the checks that run at SITE (tracker.sites, checks' sites in mirror.yaml) and answer
      $SRV; adds it to the folder's tables and accounts.conf, and writes DIR/site-SITE/ to copy to the
      site (its seed, the public keys, leaf.conf for its leaf node nats-server); run it again after
      changing which checks run there
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

/** `add-site`: the identity of a remote probe site's trackers, allowed only its checks' statuses. */
function addSite(args: string[], env: NodeJS.ProcessEnv): number {
  const [site, ...rest] = args;
  if (!site || site.startsWith("--")) return fail(`add-site needs a site name\n${USAGE}`);
  const flags = parseFlags(rest, ["dir", "hub"], []);
  if (typeof flags === "string") return fail(`${flags}\n${USAGE}`);
  const { dir, config } = dirFrom(flags, env);
  if (!dir) return fail("no identity folder: give --dir DIR or set MIRROR_IDENTITY_DIR (run identity init first)");
  const table = readIdentityTable(dir);
  if (!table) return fail(`${dir} has no identities.json: run \`pnpm mirror identity init --out ${dir}\` first`);
  const tracker = config.tracker;
  const sites = trackerSites(tracker);
  if (!sites.includes(site))
    return fail(`site "${site}" is not one of tracker.sites (${sites.join(", ")}) in mirror.yaml: add it there first`);
  const checks = tracker.checks.filter((c) => !c.heartbeat && checkSites(c, tracker).includes(site)).map((c) => c.name);
  if (!checks.length) return fail(`no check runs at site "${site}" (give checks \`sites: [${site}]\` or none)`);
  const name = siteIdentity(site);
  const spec: IdentitySpec = {
    name,
    publishes: checks.map((c) => `mirror.service.status.${subjectToken(c)}`),
    consumes: [],
    requests: [],
    serves: [],
  };
  const next = [...table.filter((s) => s.name !== name), spec];
  // init writes nats-server.conf too: keep the one the folder has (its listen address may be another).
  const confFile = join(dir, SERVER_CONF_FILE);
  const conf = existsSync(confFile) ? readFileSync(confFile, "utf8") : undefined;
  const r = initIdentities(dir, { rotate: false, listen: "127.0.0.1:4222", storeDir: join(dir, "nats") }, next);
  if (conf !== undefined) writeFileSync(confFile, conf);
  const key = r.keys[name]?.publicKey as string;
  const out = join(dir, name);
  mkdirSync(out, { recursive: true, mode: 0o700 });
  copyFileSync(join(dir, `${name}.nk`), join(out, `${name}.nk`));
  chmodSync(join(out, `${name}.nk`), 0o600);
  for (const f of ["public-keys.json", "identities.json"]) copyFileSync(join(dir, f), join(out, f));
  const hub = typeof flags.hub === "string" ? flags.hub : "HUB_HOST:7422";
  const passFile = join(out, "leaf-password");
  const password = existsSync(passFile) ? readFileSync(passFile, "utf8").trim() : randomBytes(18).toString("base64url");
  writeFileSync(passFile, `${password}\n`, { mode: 0o600 });
  writeFileSync(
    join(out, "leaf.conf"),
    `# Leaf node nats-server of probe site ${site}: generated by \`pnpm mirror identity add-site ${site}\`.
# The site's trackers connect here (nats://127.0.0.1:4222) as ${name}; this server connects to the hub's
# leafnodes port. What ${name} may publish: only the statuses of the checks that run at ${site}.
listen: "127.0.0.1:4222"
${renderAccountsConf({ [name]: key }, next)
  .replace(/^#.*\n/gm, "")
  .replace(/^ *jetstream: enabled\n/m, "")}
leafnodes {
  reconnect: 2
  remotes: [ { url: "nats-leaf://${name}:${password}@${hub}", account: "MIRROR" } ]
}
`,
    { mode: 0o600 },
  );
  process.stdout.write(
    `${r.keys[name]?.action ?? "made"} ${name} ${key}: may publish ${spec.publishes.join(" ")}\n` +
      `wrote ${out}/ (copy it to the site: ${name}.nk, public-keys.json, identities.json, leaf.conf)\n` +
      `updated ${dir}/${ACCOUNTS_CONF_FILE}, public-keys.json, identities.json; reload the hub (nats-server --signal reload)\n` +
      "add to the hub's nats-server.conf (once per site, then restart it):\n" +
      `  leafnodes { listen: "0.0.0.0:7422", authorization { users: [ { user: "${name}", password: "${password}", account: "MIRROR" } ] } }\n` +
      "see deploy/remote-probe/README.md\n",
  );
  return 0;
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
    if (sub === "add-site") return addSite(rest, env);
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
