/** Which config values are secrets, and how a log line is scrubbed of them. */

/** Config keys whose string values are secrets (channel secrets, API keys, passwords, tokens). */
const SECRET_KEY = /(secret|token|password|passwd|apikey|api_key|authorization|credential|seed|privatekey)$/i;
/** Header names whose values are secrets. */
const SECRET_HEADER = /authorization|token|key|secret|cookie|signature/i;
/** Environment variable names that hold secrets when expanded as `${NAME}`. */
export const SECRET_ENV = /(secret|token|password|passwd|api_?key|credential|seed|private)/i;

/** Values shorter than this are not scrubbed (they would blank ordinary words). */
const MIN_SECRET = 6;

/** Secret values found under secret-looking keys, header maps and URL passwords. */
export function collectSecrets(value: unknown, key = "", out = new Set<string>(), inHeaders = false): Set<string> {
  if (typeof value === "string") {
    if ((inHeaders ? SECRET_HEADER : SECRET_KEY).test(key) && value.length >= MIN_SECRET) out.add(value);
    const pw = urlPassword(value);
    if (pw) out.add(pw);
  } else if (Array.isArray(value)) {
    for (const v of value) collectSecrets(v, key, out, false);
  } else if (value && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) collectSecrets(v, k, out, /headers$/i.test(key) && !inHeaders);
  }
  return out;
}

function urlPassword(s: string): string | undefined {
  if (!/^[a-z][a-z0-9+.-]*:\/\/[^/\s]*@/i.test(s)) return undefined;
  try {
    const pw = decodeURIComponent(new URL(s).password);
    return pw.length >= MIN_SECRET ? pw : undefined;
  } catch {
    return undefined;
  }
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * A function that blanks every known secret in a serialized log line (as written and as it
 * would appear JSON-escaped), longest first so a secret containing another is blanked whole.
 */
export function secretScrubber(secrets: Iterable<string>): ((line: string) => string) | undefined {
  const forms = new Set<string>();
  for (const s of secrets) {
    if (s.length < MIN_SECRET) continue;
    forms.add(s);
    forms.add(JSON.stringify(s).slice(1, -1));
  }
  if (!forms.size) return undefined;
  const re = new RegExp(
    [...forms]
      .sort((a, b) => b.length - a.length)
      .map(escapeRe)
      .join("|"),
    "g",
  );
  return (line) => line.replace(re, "[redacted]");
}
