/**
 * A small logic-less template language for channel messages:
 * `{{path.to.field}}`, `{{#each list}}…{{/each}}` (fields of the item, `@index`, `this`),
 * `{{#if field}}…{{else}}…{{/if}}`. A field that does not exist renders empty and is reported.
 */
import { MirrorError } from "@mirror/contracts";

type Node =
  | { t: "text"; v: string }
  | { t: "var"; path: string }
  | { t: "each"; path: string; body: Node[] }
  | { t: "if"; path: string; yes: Node[]; no: Node[] };

/** Error for a template that does not parse (unbalanced blocks), caught at start-up. */
export class TemplateError extends MirrorError {
  override name = "TemplateError";
  constructor(message: string) {
    super("MIRROR_ERR_TEMPLATE", message);
  }
}

const TAG = /\{\{\s*([#/]?)\s*([A-Za-z@][\w.@]*|else)?\s*([\w.@]*)\s*\}\}/g;

export function parseTemplate(src: string): Node[] {
  const root: Node[] = [];
  const stack: { node: Node; into: Node[]; kind: "each" | "if" }[] = [];
  let out = root;
  let last = 0;
  for (const m of src.matchAll(TAG)) {
    if (m.index > last) out.push({ t: "text", v: src.slice(last, m.index) });
    last = m.index + m[0].length;
    const [, sigil, word = "", arg = ""] = m;
    if (sigil === "#") {
      if (word !== "each" && word !== "if") throw new TemplateError(`unknown block {{#${word}}}`);
      if (!arg) throw new TemplateError(`{{#${word}}} needs a field`);
      const node: Node = word === "each" ? { t: "each", path: arg, body: [] } : { t: "if", path: arg, yes: [], no: [] };
      out.push(node);
      stack.push({ node, into: out, kind: word });
      out = node.t === "each" ? node.body : (node as Extract<Node, { t: "if" }>).yes;
    } else if (sigil === "/") {
      const top = stack.pop();
      if (!top || top.kind !== word) throw new TemplateError(`{{/${word}}} closes nothing open`);
      out = top.into;
    } else if (word === "else") {
      const top = stack[stack.length - 1];
      if (top?.node.t !== "if") throw new TemplateError("{{else}} outside {{#if}}");
      out = top.node.no;
    } else out.push({ t: "var", path: word });
  }
  if (stack.length) throw new TemplateError(`{{#${stack[stack.length - 1]?.kind}}} is not closed`);
  if (last < src.length) out.push({ t: "text", v: src.slice(last) });
  return root;
}

type Scope = { value: unknown; index: number; parent: Scope | undefined };

function lookup(scope: Scope, path: string): { found: boolean; value: unknown } {
  if (path === "this") return { found: true, value: scope.value };
  if (path === "@index") return { found: true, value: scope.index };
  for (let s: Scope | undefined = scope; s; s = s.parent) {
    let cur: unknown = s.value;
    let ok = true;
    for (const part of path.split(".")) {
      if (cur !== null && typeof cur === "object" && Object.hasOwn(cur, part))
        cur = (cur as Record<string, unknown>)[part];
      else {
        ok = false;
        break;
      }
    }
    if (ok) return { found: true, value: cur };
  }
  return { found: false, value: undefined };
}

function truthy(v: unknown): boolean {
  return Array.isArray(v) ? v.length > 0 : Boolean(v);
}

function show(v: unknown): string {
  if (v === null || v === undefined) return "";
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

function renderNodes(nodes: Node[], scope: Scope, missing: (path: string) => void): string {
  let out = "";
  for (const n of nodes) {
    if (n.t === "text") out += n.v;
    else if (n.t === "var") {
      const r = lookup(scope, n.path);
      if (!r.found) missing(n.path);
      out += show(r.value);
    } else if (n.t === "if") {
      const r = lookup(scope, n.path);
      out += renderNodes(truthy(r.value) ? n.yes : n.no, scope, missing);
    } else {
      const r = lookup(scope, n.path);
      if (!r.found) missing(n.path);
      const list = Array.isArray(r.value) ? r.value : [];
      list.forEach((item, index) => {
        out += renderNodes(n.body, { value: item, index, parent: scope }, missing);
      });
    }
  }
  return out;
}

const cache = new Map<string, Node[]>();

/** Renders `src` with `data`; `missing` hears each field that does not exist (rendered empty). */
export function render(src: string, data: unknown, missing: (path: string) => void = () => undefined): string {
  let nodes = cache.get(src);
  if (!nodes) {
    nodes = parseTemplate(src);
    if (cache.size > 500) cache.clear();
    cache.set(src, nodes);
  }
  return renderNodes(nodes, { value: data, index: 0, parent: undefined }, missing);
}

/** Schemes whose links chat apps and mail readers open; written `hxxp://` or `mailto[:]` so nothing links them. */
const SCHEME = /([a-z][a-z0-9+.-]{0,30}):(\/\/|(?=[^\s/]))/gi;
const LINKABLE = [
  "javascript",
  "vbscript",
  "mailto",
  "https",
  "ftps",
  "file",
  "data",
  "http",
  "ftp",
  "wss",
  "tel",
  "sms",
  "ws",
];
/** A host name (two labels or more, the last made of letters): chat apps link it even with no scheme. */
const HOST = /(?<![a-z0-9-])((?:[a-z0-9-]{1,63}\.)+)([a-z]{2,63})(?![a-z0-9-])/gi;

function defangScheme(m: string, scheme: string, slashes: string): string {
  // "xhttp://" is linked from its "http://" on: the linkable end of the word is what counts.
  const lower = scheme.toLowerCase();
  const hit = LINKABLE.find((l) => lower.endsWith(l));
  if (!hit) return m;
  const head = scheme.slice(0, scheme.length - hit.length);
  const tail = scheme.slice(scheme.length - hit.length);
  if (hit === "http" || hit === "https") return `${head}${tail.replace(/tt/i, "xx")}:${slashes}`;
  return `${head}${tail}[:]${slashes}`;
}

/**
 * Model text made inert for a notification: links defanged the way threat reports write them
 * (`hxxps://evil[.]example/x`, `evil[.]example`), Markdown link syntax and angle brackets broken,
 * so no channel (Slack, Telegram, Discord, email, ntfy) turns it into something to click.
 */
export function defang(text: string): string {
  return text
    .replace(SCHEME, defangScheme)
    .replace(HOST, (_m, labels: string, tld: string) => `${labels.slice(0, -1).replace(/\./g, "[.]")}[.]${tld}`)
    .replace(/\]\(/g, "] (")
    .replace(/</g, "‹")
    .replace(/>/g, "›");
}

/** A model's suggestion as a notification shows it: labelled with the adapter, unverified, defanged. */
export function modelSuggestion(adapter: string, text: string): string {
  return `Suggested by ${defang(adapter)} (unverified): ${defang(text)}`;
}
