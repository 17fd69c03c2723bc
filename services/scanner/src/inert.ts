import { INERT_ENV } from "./git.js";

/**
 * Which config names a program, and the override that makes it inert. Git resolves the config
 * (repo-config.ts lists what it read, with its own parser, includes and conditions); every
 * driver it names gets its program keys overridden on the command line, which beats every
 * config file. The keys go exactly as git reported them: section and key lower-cased,
 * subsection as written. Values come from fixed environment variables through `--config-env`,
 * which splits at the last "=", so a subsection may hold any character, and the helper
 * processes (whose environment is fixed) can still run the call.
 *
 * Not here: a remote's uploadpack/receivepack, which git takes from the first value it reads
 * (no override replaces a repo's own): a fetch passes --upload-pack itself, scans allow no
 * transport at all, a partial clone with its own upload-pack is not fetched, and the scanner
 * never pushes.
 */
const DRIVERS: Record<string, ReadonlyArray<readonly [key: string, env: string]>> = {
  filter: [
    ["clean", INERT_ENV.empty],
    ["smudge", INERT_ENV.empty],
    ["process", INERT_ENV.empty],
    ["required", INERT_ENV.false],
  ],
  diff: [
    ["textconv", INERT_ENV.empty],
    ["command", INERT_ENV.empty],
    ["cachetextconv", INERT_ENV.false],
  ],
  merge: [["driver", INERT_ENV.empty]],
  credential: [["helper", INERT_ENV.empty]],
  difftool: [["cmd", INERT_ENV.empty]],
  mergetool: [["cmd", INERT_ENV.empty]],
  gpg: [["program", INERT_ENV.empty]],
};

/** A config key split as git reads it: `section.sub.name` (sub may hold dots) or `section.name`. */
export function splitKey(key: string): { section: string; sub: string | null; name: string } {
  const first = key.indexOf(".");
  const last = key.lastIndexOf(".");
  if (first < 0) return { section: key, sub: null, name: "" };
  return {
    section: key.slice(0, first),
    sub: first === last ? null : key.slice(first + 1, last),
    name: key.slice(last + 1),
  };
}

/** `--config-env` arguments that make every program named in `keys` inert. */
export function inertArgs(keys: Iterable<string>): string[] {
  const out = new Set<string>();
  for (const key of keys) {
    const { section, sub, name } = splitKey(key);
    const driver = sub === null ? undefined : DRIVERS[section];
    if (driver) for (const [k, env] of driver) out.add(`--config-env=${section}.${sub}.${k}=${env}`);
    // A protocol the config allows (`protocol.<name>.allow`, a remote helper's name too) is refused.
    else if (section === "protocol" && sub !== null) out.add(`--config-env=protocol.${sub}.allow=${INERT_ENV.never}`);
    // A URL-specific cookie file would be written by a fetch (a more specific URL beats http.*).
    else if (section === "http" && sub !== null && (name === "savecookies" || name === "cookiefile")) {
      out.add(`--config-env=http.${sub}.savecookies=${INERT_ENV.false}`);
      out.add(`--config-env=http.${sub}.cookiefile=${INERT_ENV.empty}`);
    }
    // `pager.<command>` may name a pager program; `gpg.program` the signature checker.
    else if (sub === null && section === "pager") out.add(`--config-env=${key}=${INERT_ENV.false}`);
    else if (key === "gpg.program") out.add(`--config-env=${key}=${INERT_ENV.empty}`);
  }
  return [...out];
}
