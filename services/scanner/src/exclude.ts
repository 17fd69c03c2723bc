/**
 * `scanner.exclude` patterns. A pattern without "/" matches a folder's name at any depth
 * ("node_modules", ".cache*"); one with "/" matches the path relative to its root
 * ("work/old/**"). `*` and `?` stay within one path segment, `**` crosses segments.
 */
export type ExcludeMatcher = (name: string, relPath: string) => boolean;

function globToRegExp(glob: string): RegExp {
  let re = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    if (c === "*" && glob[i + 1] === "*") {
      re += ".*";
      i++;
      if (glob[i + 1] === "/") i++;
    } else if (c === "*") re += "[^/]*";
    else if (c === "?") re += "[^/]";
    else re += c.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${re}$`);
}

export function excludeMatcher(patterns: readonly string[]): ExcludeMatcher {
  const byName: RegExp[] = [];
  const byPath: RegExp[] = [];
  for (const raw of patterns) {
    const p = raw.replace(/^\.\//, "").replace(/\/+$/, "");
    if (!p) continue;
    (p.includes("/") ? byPath : byName).push(globToRegExp(p));
  }
  return (name, relPath) => byName.some((r) => r.test(name)) || byPath.some((r) => r.test(relPath));
}
