import { MirrorError } from "@mirror/contracts";

/** One Alertmanager-style label matcher: `name=value`, `name!=value`, `name=~regex`, `name!~regex`. */
export interface LabelMatcher {
  name: string;
  op: "=" | "!=" | "=~" | "!~";
  value: string;
  /** Anchored, as in Alertmanager. */
  re?: RegExp;
}

/** Error for a matcher that does not parse (config errors are caught earlier by the schema). */
export class MatcherError extends MirrorError {
  override name = "MatcherError";
  constructor(message: string) {
    super("MIRROR_ERR_MATCHER", message);
  }
}

const RE = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$/;

export function parseMatcher(text: string): LabelMatcher {
  const m = RE.exec(text);
  if (!m)
    throw new MatcherError(`invalid matcher "${text}": use label=value, label!=value, label=~regex or label!~regex`);
  const [, name, op, rawValue] = m as unknown as [string, string, LabelMatcher["op"], string];
  const value = rawValue.replace(/^"(.*)"$/, "$1");
  if (op === "=~" || op === "!~") {
    try {
      return { name, op, value, re: new RegExp(`^(?:${value})$`) };
    } catch (err) {
      throw new MatcherError(`invalid regex in matcher "${text}": ${(err as Error).message}`);
    }
  }
  return { name, op, value };
}

/** A missing label matches as the empty string, as in Alertmanager. */
export function matches(m: LabelMatcher, labels: Record<string, string>): boolean {
  const v = labels[m.name] ?? "";
  switch (m.op) {
    case "=":
      return v === m.value;
    case "!=":
      return v !== m.value;
    case "=~":
      return m.re?.test(v) ?? false;
    case "!~":
      return !(m.re?.test(v) ?? false);
  }
}

export function matchesAll(list: readonly LabelMatcher[], labels: Record<string, string>): boolean {
  return list.every((m) => matches(m, labels));
}

/** Glob on a loop kind: `*` is any run of characters, `?` one character. */
export function globToRegExp(glob: string): RegExp {
  const body = glob
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".");
  return new RegExp(`^${body}$`);
}
