import { existsSync, readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { MirrorConfig, MirrorError } from "@mirror/contracts";
import { parse as parseYaml, YAMLParseError } from "yaml";
import { collectSecrets, SECRET_ENV } from "./secrets.js";

/** The whole mirror.yaml, or a key path with what is wrong with it. */
export class ConfigError extends MirrorError {
  override name = "ConfigError";
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super("MIRROR_ERR_CONFIG", `invalid config ${file}:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  }
}

/** Which file is read: MIRROR_CONFIG, else ./mirror.yaml, else ./mirror.example.yaml, else none. */
export function configPath(env: NodeJS.ProcessEnv, cwd = process.cwd()): string | undefined {
  if (env.MIRROR_CONFIG) return resolve(cwd, env.MIRROR_CONFIG);
  for (const name of ["mirror.yaml", "mirror.example.yaml"]) {
    const p = resolve(cwd, name);
    if (existsSync(p)) return p;
  }
  return undefined;
}

const ENV_RE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

interface Expansion {
  env: NodeJS.ProcessEnv;
  /** Where a relative `secretFile` is found: the config file's folder. */
  baseDir: string;
  problems: string[];
  /** Values that came from secret-looking variables or from files: never logged. */
  secrets: Set<string>;
  /** The `secretFile`s read, as absolute paths: a config reload watches them too. */
  files: Set<string>;
  /** Every value that came from a variable or a file, by key path: never shown in a config error. */
  hidden: Map<string, string[]>;
}

function hide(x: Expansion, path: string[], value: string): void {
  if (!value) return;
  const key = path.join(".");
  x.hidden.set(key, [...(x.hidden.get(key) ?? []), value]);
}

function expandString(value: string, x: Expansion, path: string[]): string {
  return value.replace(ENV_RE, (_m, name: string, fallback: string | undefined) => {
    const v = x.env[name];
    if (v !== undefined) {
      if (SECRET_ENV.test(name)) x.secrets.add(v);
      hide(x, path, v);
      return v;
    }
    if (fallback !== undefined) return fallback;
    x.problems.push(`${path.join(".") || "(root)"}: environment variable ${name} is not set`);
    return "";
  });
}

/** `{ secretFile: PATH }` in place of a value: the file's content (trailing newline dropped). */
function readSecretFile(spec: unknown, x: Expansion, path: string[]): string {
  const where = path.join(".") || "(root)";
  if (typeof spec !== "string" || !spec) {
    x.problems.push(`${where}.secretFile: must be a file path`);
    return "";
  }
  const file = resolve(x.baseDir, expandString(spec, x, [...path, "secretFile"]));
  x.files.add(file);
  try {
    const text = readFileSync(file, "utf8").replace(/\r?\n$/, "");
    if (text) x.secrets.add(text);
    hide(x, path, text);
    return text;
  } catch (err) {
    x.problems.push(
      `${where}.secretFile: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    );
    return "";
  }
}

/** Expands ${VAR}, ${VAR:-default} and { secretFile } everywhere; a problem names its key path. */
function expandEnv(value: unknown, x: Expansion, path: string[]): unknown {
  if (typeof value === "string") return expandString(value, x, path);
  if (Array.isArray(value)) return value.map((v, i) => expandEnv(v, x, [...path, String(i)]));
  if (value && typeof value === "object") {
    const entries = Object.entries(value);
    if (entries.length === 1 && entries[0]?.[0] === "secretFile") return readSecretFile(entries[0][1], x, path);
    return Object.fromEntries(entries.map(([k, v]) => [k, expandEnv(v, x, [...path, k])]));
  }
  return value;
}

const SECRETS = Symbol.for("mirror.config.secrets");
const FILES = Symbol.for("mirror.config.secretFiles");

/** The `secretFile`s a parsed config was read from (absolute paths): rotating one is a config change. */
export function configSecretFiles(config: MirrorConfig): string[] {
  return (config as unknown as Record<symbol, string[] | undefined>)[FILES] ?? [];
}
const HIDDEN = Symbol.for("mirror.config.hidden");

/** Every secret value of a parsed config: secret-looking keys, URL passwords, secret variables and files. */
export function configSecrets(config: MirrorConfig): string[] {
  const fromParse = (config as unknown as Record<symbol, string[] | undefined>)[SECRETS] ?? [];
  return [...new Set([...fromParse, ...collectSecrets(config)])];
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === "object" && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}

/** Parses YAML text into a validated, frozen MirrorConfig. No side effects. */
export function parseConfig(
  text: string,
  env: NodeJS.ProcessEnv,
  file = "mirror.yaml",
  baseDir = file.startsWith("/") ? dirname(file) : process.cwd(),
): MirrorConfig {
  let raw: unknown;
  try {
    raw = parseYaml(text, { prettyErrors: true, maxAliasCount: 100 }) ?? {};
  } catch (err) {
    const where = err instanceof YAMLParseError && err.linePos ? ` at line ${err.linePos[0].line}` : "";
    throw new ConfigError(file, [`not valid YAML${where}: ${(err as Error).message.split("\n")[0]}`]);
  }
  if (typeof raw !== "object" || Array.isArray(raw) || raw === null)
    throw new ConfigError(file, [
      "(root): must be a mapping of sections (bus, store, scanner, tracker, loops, notifier, model)",
    ]);
  const x: Expansion = { env, baseDir, problems: [], secrets: new Set(), files: new Set(), hidden: new Map() };
  const expanded = expandEnv(raw, x, []) as Record<string, Record<string, unknown>>;
  if (x.problems.length) throw new ConfigError(file, x.problems);
  if (env.MIRROR_NATS_URL) expanded.bus = { ...(expanded.bus ?? {}), url: env.MIRROR_NATS_URL };
  if (env.MIRROR_IDENTITY_DIR)
    expanded.bus = { ...(expanded.bus ?? {}), identityDir: resolve(env.MIRROR_IDENTITY_DIR) };
  else if (typeof expanded.bus?.identityDir === "string")
    expanded.bus = { ...expanded.bus, identityDir: resolve(baseDir, expanded.bus.identityDir) };
  if (env.MIRROR_REDIS_URL) expanded.store = { ...(expanded.store ?? {}), url: env.MIRROR_REDIS_URL };
  // Scale-out without editing mirror.yaml (deploy/cluster/docker-compose.yml sets them): the
  // replica count of the streams, and the sentinels (comma-separated host:port) and master name.
  if (env.MIRROR_BUS_REPLICAS) expanded.bus = { ...(expanded.bus ?? {}), replicas: Number(env.MIRROR_BUS_REPLICAS) };
  if (env.MIRROR_REDIS_SENTINELS)
    expanded.store = {
      ...(expanded.store ?? {}),
      sentinels: env.MIRROR_REDIS_SENTINELS.split(",").map((s) => s.trim()),
    };
  if (env.MIRROR_REDIS_SENTINEL_NAME)
    expanded.store = { ...(expanded.store ?? {}), name: env.MIRROR_REDIS_SENTINEL_NAME };
  const parsed = MirrorConfig.safeParse(expanded);
  if (!parsed.success) {
    throw new ConfigError(
      file,
      parsed.error.issues.map(
        (i) => `${i.path.map(String).join(".") || "(root)"}: ${redactIssue(i.path.map(String), i.message, x.hidden)}`,
      ),
    );
  }
  Object.defineProperty(parsed.data, SECRETS, { value: [...x.secrets], enumerable: false });
  Object.defineProperty(parsed.data, FILES, { value: [...x.files], enumerable: false });
  Object.defineProperty(parsed.data, HIDDEN, { value: x.hidden, enumerable: false });
  return deepFreeze(parsed.data);
}

const REDACTED = "[redacted]";
/** Values this short are blanked only in problems about their own key (elsewhere they would blank ordinary words). */
const MIN_HIDDEN = 4;

/**
 * A schema message without any value that came from `${VAR}` or `{ secretFile }`: the whole
 * value and each of its lines, anywhere in the message when long enough to be unmistakable,
 * and at any length in a problem about the key (or a key inside it) the value was put in.
 */
export function redactIssue(path: string[], message: string, hidden: ReadonlyMap<string, readonly string[]>): string {
  const key = path.join(".");
  const values: string[] = [];
  for (const [where, vs] of hidden) {
    const own = key === where || key.startsWith(`${where}.`) || where.startsWith(`${key}.`) || key === "";
    for (const v of vs) {
      for (const form of new Set([v, JSON.stringify(v).slice(1, -1), ...v.split(/\r?\n/)])) {
        if (form && (own || form.length >= MIN_HIDDEN)) values.push(form);
      }
    }
  }
  let out = message;
  for (const v of values.sort((a, b) => b.length - a.length)) out = out.split(v).join(REDACTED);
  return out;
}

/**
 * A ConfigError a service raised about an already parsed config (a bad condition, a template),
 * without the values that came from `${VAR}` or `{ secretFile }`; any other error as it is.
 */
export function redactConfigError(err: unknown, config: MirrorConfig): unknown {
  const hidden = (config as unknown as Record<symbol, Map<string, string[]> | undefined>)[HIDDEN];
  if (!(err instanceof ConfigError) || !hidden?.size) return err;
  const problems = err.problems.map((p) => {
    const m = /^([^\s:]+): ([\s\S]*)$/.exec(p);
    return m
      ? `${m[1]}: ${redactIssue((m[1] as string).split("."), m[2] as string, hidden)}`
      : redactIssue([], p, hidden);
  });
  return problems.every((p, i) => p === err.problems[i]) ? err : new ConfigError(err.file, problems);
}

/** Reads and validates the config the environment points at. */
export function loadConfig(
  env: NodeJS.ProcessEnv = process.env,
  cwd = process.cwd(),
): { config: MirrorConfig; file: string | undefined } {
  const file = configPath(env, cwd);
  if (!file) return { config: parseConfig("{}", env, "(defaults)"), file };
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new ConfigError(file, [
      `cannot read the file: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    ]);
  }
  return { config: parseConfig(text, env, file), file };
}
