import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { MirrorConfig } from "@mirror/contracts";
import { parse as parseYaml, YAMLParseError } from "yaml";

/** The whole mirror.yaml, or a key path with what is wrong with it. */
export class ConfigError extends Error {
  override name = "ConfigError";
  readonly code = "MIRROR_ERR_CONFIG";
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`invalid config ${file}:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
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

/** Expands ${VAR} and ${VAR:-default} in every string; a missing variable is a problem at its key path. */
function expandEnv(value: unknown, env: NodeJS.ProcessEnv, path: string[], problems: string[]): unknown {
  if (typeof value === "string") {
    return value.replace(ENV_RE, (_m, name: string, fallback: string | undefined) => {
      const v = env[name];
      if (v !== undefined) return v;
      if (fallback !== undefined) return fallback;
      problems.push(`${path.join(".") || "(root)"}: environment variable ${name} is not set`);
      return "";
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => expandEnv(v, env, [...path, String(i)], problems));
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, expandEnv(v, env, [...path, k], problems)]));
  }
  return value;
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === "object" && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}

/** Parses YAML text into a validated, frozen MirrorConfig. No side effects. */
export function parseConfig(text: string, env: NodeJS.ProcessEnv, file = "mirror.yaml"): MirrorConfig {
  let raw: unknown;
  try {
    raw = parseYaml(text, { prettyErrors: true, maxAliasCount: 100 }) ?? {};
  } catch (err) {
    const where = err instanceof YAMLParseError && err.linePos ? ` at line ${err.linePos[0].line}` : "";
    throw new ConfigError(file, [`not valid YAML${where}: ${(err as Error).message.split("\n")[0]}`]);
  }
  if (typeof raw !== "object" || Array.isArray(raw) || raw === null) throw new ConfigError(file, ["(root): must be a mapping of sections (bus, store, scanner, tracker, loops, notifier, model)"]);
  const problems: string[] = [];
  const expanded = expandEnv(raw, env, [], problems) as Record<string, Record<string, unknown>>;
  if (problems.length) throw new ConfigError(file, problems);
  if (env.MIRROR_NATS_URL) expanded.bus = { ...(expanded.bus ?? {}), url: env.MIRROR_NATS_URL };
  if (env.MIRROR_REDIS_URL) expanded.store = { ...(expanded.store ?? {}), url: env.MIRROR_REDIS_URL };
  const parsed = MirrorConfig.safeParse(expanded);
  if (!parsed.success) {
    throw new ConfigError(
      file,
      parsed.error.issues.map((i) => `${i.path.map(String).join(".") || "(root)"}: ${i.message}`),
    );
  }
  return deepFreeze(parsed.data);
}

/** Reads and validates the config the environment points at. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): { config: MirrorConfig; file: string | undefined } {
  const file = configPath(env, cwd);
  if (!file) return { config: parseConfig("{}", env, "(defaults)"), file };
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new ConfigError(file, [`cannot read the file: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`]);
  }
  return { config: parseConfig(text, env, file), file };
}
