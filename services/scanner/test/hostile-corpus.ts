// The adversarial corpus: repositories whose config (in every syntax git accepts) or whose
// scanner environment names a program. Each case is built with real git; its program leaves a
// mark named after the case when anything runs it. `arm` is what plain git does that runs it,
// so the test can prove each case is live, not merely that nothing happened.
import {
  appendFileSync,
  chmodSync,
  mkdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { basename, dirname, join } from "node:path";
import { git } from "@mirror/testkit";

/** How a case's remote is reached: the local bare repo, or a transport that needs a program. */
export type Remote = "local" | "ssh" | "git" | "http" | "smart-http" | "ext" | "vcs";

/** Plain git's action that runs the case's program (null: none without a terminal or a signature). */
export type Arm = "status" | "fetch" | "diff" | null;

export interface Case {
  name: string;
  /** Appended as-is to .git/config; `$S` is the case's program, `$MARKS` the marks folder. */
  config?: string;
  /** Extra files (relative to the worktree), same substitutions. */
  files?: Record<string, string>;
  /** The filter/diff driver `.gitattributes` names (default: the case's name). */
  driver?: string;
  remote: Remote;
  arm: Arm;
  /** Environment of the scanner (env cases): `$S` substituted. */
  env?: Record<string, string>;
  /** What differs from a clean scan and a successful fetch. */
  expect?: { scanError?: RegExp; fetched?: boolean };
  /** Where plain git is run to arm it, as a suffix of the repo's path (a linked worktree). */
  armAt?: string;
  /** Another repo the case makes (a linked worktree, a submodule), as a suffix of its path: it is scanned too. */
  companion?: string;
  /** Extra setup after the config is written. */
  setup?: (repo: string, program: string, ctx: CorpusContext) => void;
}

export interface CorpusContext {
  /** Folder of the programs (on PATH for the remote-helper case). */
  bin: string;
  marks: string;
  home: string;
  bare: string;
  httpUrl: string;
  /** The bare remote served by git's own smart HTTP server (which sets a cookie). */
  smartUrl: string;
}

const f = (name: string, key = "clean") => `[filter "${name}"]\n\t${key} = $S\n`;

/** Hooks git may run during a scan or a fetch. */
const HOOKS = [
  "reference-transaction",
  "post-checkout",
  "post-merge",
  "post-index-change",
  "pre-auto-gc",
  "fsmonitor-watchman",
  "post-rewrite",
  "pre-commit",
];

function hooks(dir: string, program: string): void {
  mkdirSync(dir, { recursive: true });
  for (const h of HOOKS) {
    writeFileSync(join(dir, h), `#!/bin/sh\nexec '${program}' "$@"\n`);
    chmodSync(join(dir, h), 0o755);
  }
}

/** Config-borne cases: run by the probe with a plain environment. */
export const CONFIG_CASES: Case[] = [
  { name: "filter-quoted", config: `${f("filter-quoted")}\trequired = true\n`, remote: "local", arm: "status" },
  {
    name: "filter-old-style-upper",
    config: "[filter.EVIL]\n\tclean = $S\n",
    driver: "evil",
    remote: "local",
    arm: "status",
  },
  {
    name: "filter-upper-section",
    config: '[FILTER "Mixed"]\n\tclean = $S\n',
    driver: "Mixed",
    remote: "local",
    arm: "status",
  },
  {
    name: "filter-capitalised-old-style",
    config: "[Filter.X]\n\tclean = $S\n",
    driver: "x",
    remote: "local",
    arm: "status",
  },
  { name: "filter-dot-in-name", config: f("a.b"), driver: "a.b", remote: "local", arm: "status" },
  {
    name: "filter-escaped-quote",
    config: '[filter "q\\"x"]\n\tclean = $S\n',
    driver: 'q"x',
    remote: "local",
    arm: "status",
  },
  { name: "filter-equals-in-name", config: f("a=b"), driver: "a=b", remote: "local", arm: "status" },
  {
    name: "filter-spaces",
    config: '[filter   "sp"]\n  \t  clean   =    $S   \n',
    driver: "sp",
    remote: "local",
    arm: "status",
  },
  {
    name: "filter-key-on-header-line",
    config: '[filter "inline"] clean = $S\n',
    driver: "inline",
    remote: "local",
    arm: "status",
  },
  { name: "filter-process", config: f("proc", "process"), driver: "proc", remote: "local", arm: "status" },
  {
    name: "filter-continuation",
    config: '[filter "cont"]\n\tclean = $S_HEAD\\\n$S_TAIL\n',
    driver: "cont",
    remote: "local",
    arm: "status",
  },
  {
    name: "filter-quoted-comment",
    config: '[filter "qc"]\n\tclean = "$S" ; not the command\n',
    driver: "qc",
    remote: "local",
    arm: "status",
  },
  { name: "filter-upper-key", config: '[filter "kc"]\n\tCLEAN = $S\n', driver: "kc", remote: "local", arm: "status" },
  {
    name: "filter-crlf",
    config: '[filter "crlf"]\r\n\tclean = $S\r\n',
    driver: "crlf",
    remote: "local",
    arm: "status",
  },
  {
    name: "include-semicolon",
    config: "[include]\n\tpath = inc.cfg ; comment\n",
    files: { ".git/inc.cfg": f("include-semicolon") },
    remote: "local",
    arm: "status",
  },
  {
    name: "include-hash",
    config: "[include]\n\tpath = inc.cfg # comment\n",
    files: { ".git/inc.cfg": f("include-hash") },
    remote: "local",
    arm: "status",
  },
  {
    name: "include-quoted-space",
    config: '[include]\n\tpath = "dir with space/inc.cfg"\n',
    files: { ".git/dir with space/inc.cfg": f("include-quoted-space") },
    remote: "local",
    arm: "status",
  },
  {
    name: "include-escaped",
    config: '[include]\n\tpath = "es\\"c.cfg"\n',
    files: { '.git/es"c.cfg': f("include-escaped") },
    remote: "local",
    arm: "status",
  },
  {
    name: "include-tilde",
    config: "[include]\n\tpath = ~/corpus-tilde.cfg\n",
    files: { "~/corpus-tilde.cfg": f("include-tilde") },
    remote: "local",
    arm: "status",
  },
  {
    name: "include-worktree-file",
    config: "[include]\n\tpath = ../evil.cfg\n",
    files: { "evil.cfg": f("include-worktree-file") },
    remote: "local",
    arm: "status",
  },
  {
    name: "include-nested",
    config: "[include]\n\tpath = n1.cfg\n",
    files: { ".git/n1.cfg": "[include]\n\tpath = sub/n2.cfg\n", ".git/sub/n2.cfg": f("include-nested") },
    remote: "local",
    arm: "status",
  },
  {
    name: "include-absolute",
    config: "[include]\n\tpath = $MARKS/../absolute.cfg\n",
    remote: "local",
    arm: "status",
    setup: (_r, s, ctx) =>
      writeFileSync(join(ctx.marks, "..", "absolute.cfg"), substitute(f("include-absolute"), s, ctx)),
  },
  {
    name: "config-symlink",
    remote: "local",
    arm: "status",
    // .git/config is a symlink to a file in the worktree (git follows it).
    setup: (r, s, ctx) => {
      writeFileSync(
        join(r, "linked.cfg"),
        `${readFileSync(join(r, ".git", "config"), "utf8")}${substitute(f("config-symlink"), s, ctx)}`,
      );
      rmSync(join(r, ".git", "config"));
      symlinkSync(join(r, "linked.cfg"), join(r, ".git", "config"));
    },
  },
  {
    name: "submodule",
    remote: "local",
    arm: "status",
    companion: "/sub",
    // A submodule (scanned as its own repo) whose own config names the filter; plain git status
    // in the superproject recurses into it.
    setup: (r, s, ctx) => {
      git(r, "-c", "protocol.file.allow=always", "submodule", "add", "-q", ctx.bare, "sub");
      git(r, "commit", "-q", "-m", "submodule");
      const sub = join(r, "sub");
      writeFileSync(join(sub, ".gitattributes"), "* filter=submodule\n");
      git(sub, "add", ".gitattributes");
      git(sub, "commit", "-q", "-m", "attributes");
      git(sub, "config", "filter.submodule.clean", s);
      // Changed at the same size: git has to read it, through the clean filter, to tell that it
      // changed. A new size tells it from the stat data alone, and whether plain git then ran the
      // filter (on a racily clean file) depended on timing: the control failed twice under load.
      const a = join(sub, "a.txt");
      writeFileSync(
        a,
        readFileSync(a, "utf8").replace(/^./, (ch) => (ch === "z" ? "y" : "z")),
      );
    },
  },
  {
    name: "includeif-gitdir",
    config: '[includeIf "gitdir:**/includeif-gitdir/"]\n\tpath = g.cfg\n',
    files: { ".git/g.cfg": f("includeif-gitdir") },
    remote: "local",
    arm: "status",
  },
  {
    name: "includeif-gitdir-i",
    config: '[includeIf "gitdir/i:**/INCLUDEIF-GITDIR-I/"]\n\tpath = g.cfg\n',
    files: { ".git/g.cfg": f("includeif-gitdir-i") },
    remote: "local",
    arm: "status",
  },
  {
    name: "includeif-onbranch",
    config: '[includeIf "onbranch:main"]\n\tpath = b.cfg\n',
    files: { ".git/b.cfg": f("includeif-onbranch") },
    remote: "local",
    arm: "status",
  },
  {
    name: "includeif-hasconfig",
    config: '[includeIf "hasconfig:remote.*.url:**/remote.git"]\n\tpath = h.cfg\n',
    files: { ".git/h.cfg": f("includeif-hasconfig") },
    remote: "local",
    arm: "status",
  },
  {
    name: "config-worktree",
    config: "[core]\n\trepositoryformatversion = 1\n[extensions]\n\tworktreeConfig = true\n",
    files: { ".git/config.worktree": f("config-worktree") },
    remote: "local",
    arm: "status",
  },
  {
    name: "linked-worktree",
    remote: "local",
    arm: "status",
    armAt: "-wt",
    companion: "-wt",
    // A linked worktree under the root, whose own config.worktree names the filter.
    setup: (r, s, ctx) => {
      const wt = `${r}-wt`;
      git(r, "worktree", "add", "-q", wt);
      git(r, "config", "extensions.worktreeConfig", "true");
      writeFileSync(
        join(r, ".git", "worktrees", basename(wt), "config.worktree"),
        substitute(f("linked-worktree"), s, ctx),
      );
      writeFileSync(join(wt, "a.txt"), "changed in the worktree\n");
    },
  },
  {
    name: "partial-clone",
    remote: "local",
    arm: "status",
    // A blobless clone whose status needs a missing blob (a staged rename): git would fetch it
    // with the repo's own upload-pack, which no override replaces. Scans allow no transport, so
    // status fails instead; the repo is not fetched.
    expect: { scanError: /transport 'file' not allowed/, fetched: false },
    setup: (r, s, ctx) => {
      rmSync(r, { recursive: true, force: true });
      git(dirname(r), "clone", "-q", "--filter=blob:none", "--no-checkout", `file://${ctx.bare}`, r);
      git(r, "read-tree", "HEAD");
      git(r, "rm", "-q", "--cached", "a.txt");
      writeFileSync(join(r, "renamed.txt"), "a\nand more\n");
      writeFileSync(join(r, "b.txt"), "b\n");
      git(r, "add", "renamed.txt");
      git(r, "config", "remote.origin.uploadpack", s);
    },
  },
  { name: "fsmonitor", config: "[core]\n\tfsmonitor = $S\n", remote: "local", arm: "status" },
  {
    name: "hooks-path",
    config: "[core]\n\thooksPath = $MARKS/../hooks-path\n",
    remote: "local",
    arm: "fetch",
    setup: (_r, s, ctx) => hooks(join(ctx.marks, "..", "hooks-path"), s),
  },
  { name: "default-hooks", remote: "local", arm: "fetch", setup: (r, s) => hooks(join(r, ".git", "hooks"), s) },
  { name: "diff-external", config: "[diff]\n\texternal = $S\n", remote: "local", arm: "diff" },
  { name: "textconv", config: '[diff "textconv"]\n\ttextconv = $S\n', remote: "local", arm: "diff" },
  { name: "diff-command", config: '[diff "diff-command"]\n\tcommand = $S\n', remote: "local", arm: "diff" },
  { name: "ssh-command", config: "[core]\n\tsshCommand = $S\n", remote: "ssh", arm: "fetch" },
  {
    name: "upload-pack",
    config: '[remote "origin"]\n\tuploadpack = $S\n\treceivepack = $S\n',
    remote: "local",
    arm: "fetch",
  },
  { name: "git-proxy", config: "[core]\n\tgitProxy = $S\n", remote: "git", arm: "fetch" },
  { name: "credential-helper", config: "[credential]\n\thelper = $S\n", remote: "http", arm: "fetch" },
  { name: "credential-url-helper", config: '[credential "$HTTP"]\n\thelper = $S\n', remote: "http", arm: "fetch" },
  { name: "askpass", config: "[core]\n\taskPass = $S\n", remote: "http", arm: "fetch" },
  // Not a program but a file the fetch would write where the repo says (a cookie line in a shell
  // startup file runs later): plain, and URL-specific (a more specific URL beats http.*).
  {
    name: "cookie-file",
    config: "[http]\n\tsaveCookies = true\n\tcookieFile = $MARKS/cookie-file\n",
    remote: "smart-http",
    arm: "fetch",
  },
  {
    name: "cookie-file-url",
    config: '[http "$SMART"]\n\tsaveCookies = true\n\tcookieFile = $MARKS/cookie-file-url\n',
    remote: "smart-http",
    arm: "fetch",
  },
  {
    name: "ext-transport",
    config: '[protocol "ext"]\n\tallow = always\n[protocol]\n\tallow = always\n',
    remote: "ext",
    arm: "fetch",
  },
  {
    name: "remote-helper",
    config: '[remote "origin"]\n\tvcs = corpus\n',
    remote: "vcs",
    arm: "fetch",
    setup: (_r, s, ctx) => {
      writeFileSync(join(ctx.bin, "git-remote-corpus"), `#!/bin/sh\nexec '${s}'\n`);
      chmodSync(join(ctx.bin, "git-remote-corpus"), 0o755);
    },
  },
  {
    name: "pager-editor-gpg",
    config:
      "[core]\n\tpager = $S\n\teditor = $S\n[pager]\n\tstatus = $S\n[gpg]\n\tprogram = $S\n[log]\n\tshowSignature = true\n",
    remote: "local",
    arm: null,
  },
  // The owner's own global config is no exception: a scan needs no program.
  {
    name: "global-filter",
    driver: "globalf",
    remote: "local",
    arm: "status",
    setup: (_r, s, ctx) => appendFileSync(join(ctx.home, ".gitconfig"), f("globalf").replace("$S", s)),
  },
];

/** Cases living in the scanner's environment: run by a probe started with all of `env` at once. */
export const ENV_CASES: Case[] = [
  {
    name: "env-config-parameters",
    env: { GIT_CONFIG_PARAMETERS: "'filter.envp.clean'='$S' 'core.fsmonitor'='$S'" },
    driver: "envp",
    remote: "local",
    arm: "status",
  },
  {
    name: "env-config-count",
    env: { GIT_CONFIG_COUNT: "1", GIT_CONFIG_KEY_0: "filter.envc.clean", GIT_CONFIG_VALUE_0: "$S" },
    driver: "envc",
    remote: "local",
    arm: "status",
  },
  { name: "env-external-diff", env: { GIT_EXTERNAL_DIFF: "$S" }, remote: "local", arm: "diff" },
  { name: "env-ssh-command", env: { GIT_SSH_COMMAND: "$S" }, remote: "ssh", arm: "fetch" },
  { name: "env-ssh", env: { GIT_SSH: "$S" }, remote: "ssh", arm: "fetch" },
  { name: "env-proxy-command", env: { GIT_PROXY_COMMAND: "$S" }, remote: "git", arm: "fetch" },
  { name: "env-askpass", env: { GIT_ASKPASS: "$S" }, remote: "http", arm: "fetch" },
  {
    name: "env-git-dir",
    env: { GIT_DIR: "$MARKS/../elsewhere/.git", GIT_WORK_TREE: "$MARKS/../elsewhere" },
    remote: "local",
    arm: "status",
    // Another repo, outside the roots, with a filter of its own: where GIT_DIR would send git.
    setup: (_r, s, ctx) => {
      const other = join(ctx.marks, "..", "elsewhere");
      git(dirname(other), "clone", "-q", ctx.bare, other);
      writeFileSync(join(other, ".gitattributes"), "* filter=elsewhere\n");
      git(other, "add", ".gitattributes");
      git(other, "commit", "-q", "-m", "attributes");
      git(other, "config", "filter.elsewhere.clean", s);
      writeFileSync(join(other, "a.txt"), "changed elsewhere\n");
    },
  },
];

/** The case's program: leaves its mark, fails (so no git waits on it). */
export function program(ctx: CorpusContext, name: string): string {
  const path = join(ctx.bin, `${name}.sh`);
  writeFileSync(path, `#!/bin/sh\ntouch '${join(ctx.marks, name)}'\nexit 1\n`);
  chmodSync(path, 0o755);
  return path;
}

/** `$S` is the program (`$S_HEAD`/`$S_TAIL` its halves, for a value split over lines), `$MARKS` the marks folder, `$HTTP` the 401 server, `$SMART` the smart HTTP one. */
export function substitute(text: string, s: string, ctx: CorpusContext): string {
  const half = Math.floor(s.length / 2);
  const http = new URL(ctx.httpUrl).origin;
  const smart = new URL(ctx.smartUrl).origin;
  // Longer tokens first: "$S" is a prefix of the others.
  const tokens: Array<[string, string]> = [
    ["$S_HEAD", s.slice(0, half)],
    ["$S_TAIL", s.slice(half)],
    ["$SMART", smart],
    ["$MARKS", ctx.marks],
    ["$HTTP", http],
    ["$S", s],
  ];
  return tokens.reduce((t, [token, value]) => t.replaceAll(token, value), text);
}

function remoteUrl(c: Case, ctx: CorpusContext, s: string): string {
  switch (c.remote) {
    case "local":
    case "vcs":
      return ctx.bare;
    case "ssh":
      return "ssh://127.0.0.1:9/x.git";
    case "git":
      return "git://127.0.0.1:9/x.git";
    case "http":
      return ctx.httpUrl;
    case "smart-http":
      return ctx.smartUrl;
    case "ext":
      return `ext::${s} %S`;
  }
}

/**
 * A clone of the corpus's bare remote at `repo`, made hostile: `.gitattributes` naming the
 * case's driver for filter and diff (committed), then the case's config and files, then a.txt
 * changed and b.txt touched, so that status must compare contents (which runs a clean filter).
 */
export function buildCase(c: Case, repo: string, ctx: CorpusContext): void {
  git(dirname(repo), "clone", "-q", ctx.bare, repo);
  const driver = c.driver ?? c.name;
  writeFileSync(join(repo, ".gitattributes"), `* filter=${driver} diff=${driver}\n`);
  git(repo, "add", ".gitattributes");
  git(repo, "commit", "-q", "-m", "attributes");
  const s = program(ctx, c.name);
  git(repo, "remote", "set-url", "origin", remoteUrl(c, ctx, s));
  if (c.config) appendFileSync(join(repo, ".git", "config"), substitute(c.config, s, ctx));
  for (const [rel, text] of Object.entries(c.files ?? {})) {
    const path = rel.startsWith("~/") ? join(ctx.home, rel.slice(2)) : join(repo, rel);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, substitute(text, s, ctx));
  }
  c.setup?.(repo, s, ctx);
  writeFileSync(join(repo, "a.txt"), "changed by the corpus\n");
  const past = new Date(Date.now() - 3_600_000);
  utimesSync(join(repo, "b.txt"), past, past);
}
