// Issue 27: the scanner runs no program that repository content names. Every hostile repo of the
// corpus (hostile-corpus.ts) is discovered under a scanned root, scanned, fetched from a real
// remote (a local bare repo, or ssh/git/http/ext/helper transports whose program is the case's),
// and scanned again, by the scanner's own code in a process of its own (corpus-probe.ts); no
// case's mark may appear. Each case is then armed with plain git to prove it was live. Benign
// repos' snapshots must equal what plain git reports. A repo owned by another uid is reported
// untrusted and not opened, then scanned (still inert) once its owner is trusted.
import assert from "node:assert/strict";
import { execFile, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { commitAll, git, makeRepo } from "@mirror/testkit";
import type { ProbeReport, ProbeRequest } from "./corpus-probe.js";
import { realTemp } from "./fixtures.js";
import { buildCase, type Case, CONFIG_CASES, type CorpusContext, ENV_CASES, substitute } from "./hostile-corpus.js";

const SCANNER = new URL("..", import.meta.url).pathname;
const FOREIGN_UID = 12345;
let dir: string;
let ctx: CorpusContext;
let server: Server;
let smart: Server;
const roots = { config: "", env: "", foreign: "" };

function run(
  cmd: string,
  args: string[],
  opts: { cwd: string; env: NodeJS.ProcessEnv; timeout: number },
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { ...opts, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

/** The environment of the scanner's process: a corpus HOME, the programs folder on PATH, plus `extra`. */
function scannerEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: `${ctx.bin}:${process.env.PATH}`,
    HOME: ctx.home,
    LANG: "C",
    TMPDIR: process.env.TMPDIR ?? "/tmp",
    ...extra,
  };
}

async function probe(req: Omit<ProbeRequest, "marks">, env: NodeJS.ProcessEnv): Promise<ProbeReport> {
  const r = await run(
    process.execPath,
    ["--import", "tsx", join(SCANNER, "test", "corpus-probe.ts"), JSON.stringify({ ...req, marks: ctx.marks })],
    { cwd: SCANNER, env, timeout: 180_000 },
  );
  assert.equal(r.code, 0, `the probe failed: ${r.stderr.slice(-2_000)}`);
  return JSON.parse(r.stdout) as ProbeReport;
}

const envOf = (c: Case) =>
  Object.fromEntries(
    Object.entries(c.env ?? {}).map(([k, v]) => [k, substitute(v, join(ctx.bin, `${c.name}.sh`), ctx)]),
  );

/** Plain git doing what runs the case's program (no scanner settings): the mark must appear. */
async function arm(c: Case, repo: string): Promise<void> {
  const args = c.arm === "status" ? ["status", "--porcelain"] : c.arm === "diff" ? ["diff"] : ["fetch", "origin"];
  await run("git", args, {
    cwd: `${repo}${c.armAt ?? ""}`,
    env: { ...scannerEnv(envOf(c)), GIT_TERMINAL_PROMPT: "0" },
    timeout: 30_000,
  });
}

before(async () => {
  dir = realTemp();
  ctx = {
    bin: join(dir, "bin"),
    marks: join(dir, "marks"),
    home: join(dir, "home"),
    bare: join(dir, "remote.git"),
    httpUrl: "",
    smartUrl: "",
  };
  for (const d of [ctx.bin, ctx.marks, ctx.home]) mkdirSync(d);
  // A real HTTP remote that asks for credentials (what makes git call a helper or askpass), and
  // git's own smart HTTP server (http-backend) serving the bare remote and setting a cookie.
  server = createServer((_req, res) => res.writeHead(401, { "WWW-Authenticate": 'Basic realm="corpus"' }).end());
  smart = smartHttp(dir);
  for (const srv of [server, smart]) await new Promise<void>((resolve) => srv.listen(0, "127.0.0.1", resolve));
  ctx.httpUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}/x.git`;
  ctx.smartUrl = `http://127.0.0.1:${(smart.address() as { port: number }).port}/remote.git`;
  const seed = makeRepo(join(dir, "seed"), { "a.txt": "a\n", "b.txt": "b\n" });
  git(dir, "clone", "-q", "--bare", seed, ctx.bare);
  git(ctx.bare, "config", "uploadpack.allowFilter", "true");
  for (const [k, cases] of [
    ["config", CONFIG_CASES],
    ["env", ENV_CASES],
  ] as const) {
    roots[k] = join(dir, `root-${k}`);
    mkdirSync(roots[k]);
    for (const c of cases) buildCase(c, join(roots[k], c.name), ctx);
  }
  buildBenign(roots.config);
  roots.foreign = join(dir, "root-foreign");
  mkdirSync(roots.foreign);
  buildForeign(join(roots.foreign, "foreign"));
  // The remote moves on: every clone is one commit behind, so a fetch has refs to update.
  pushToRemote("after the clones");
});

after(async () => {
  await Promise.all([server, smart].map((srv) => new Promise((resolve) => srv.close(resolve))));
});

/** `git http-backend` (CGI) over HTTP for the repos in `root`; every answer sets a cookie. */
function smartHttp(root: string): Server {
  return createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const env = {
      PATH: process.env.PATH,
      GIT_PROJECT_ROOT: root,
      GIT_HTTP_EXPORT_ALL: "1",
      PATH_INFO: url.pathname,
      QUERY_STRING: url.search.slice(1),
      REQUEST_METHOD: req.method,
      CONTENT_TYPE: req.headers["content-type"] ?? "",
    };
    const cgi = spawn("git", ["http-backend"], { env });
    req.pipe(cgi.stdin);
    const chunks: Buffer[] = [];
    cgi.stdout.on("data", (c: Buffer) => chunks.push(c));
    cgi.on("close", () => {
      const out = Buffer.concat(chunks);
      const end = out.indexOf("\r\n\r\n");
      const headers: Record<string, string> = { "Set-Cookie": "corpus=1; Path=/" };
      let status = 200;
      for (const line of out.subarray(0, Math.max(0, end)).toString().split("\r\n")) {
        const [k = "", v = ""] = [line.slice(0, line.indexOf(":")), line.slice(line.indexOf(":") + 1).trim()];
        if (k.toLowerCase() === "status") status = Number.parseInt(v, 10);
        else if (k) headers[k] = v;
      }
      res.writeHead(status, headers).end(out.subarray(end + 4));
    });
  });
}

function pushToRemote(message: string): void {
  const work = join(dir, `push-${Date.now()}`);
  git(dir, "clone", "-q", ctx.bare, work);
  writeFileSync(join(work, "remote.txt"), `${message}\n`);
  commitAll(work, message);
  git(work, "push", "-q", "origin", "main");
}

const BENIGN = [
  "benign-clean",
  "benign-dirty",
  "benign-ahead",
  "benign-detached",
  "benign-include",
  "benign-no-remote",
];

function buildBenign(root: string): void {
  for (const name of BENIGN.slice(0, 5)) git(root, "clone", "-q", ctx.bare, name);
  const dirty = join(root, "benign-dirty");
  writeFileSync(join(dirty, "a.txt"), "unstaged\n");
  writeFileSync(join(dirty, "staged.txt"), "staged\n");
  git(dirty, "add", "staged.txt");
  writeFileSync(join(dirty, "u1.txt"), "");
  mkdirSync(join(dirty, "sub"));
  writeFileSync(join(dirty, "sub", "u2.txt"), "");
  writeFileSync(join(root, "benign-ahead", "mine.txt"), "mine\n");
  commitAll(join(root, "benign-ahead"), "mine");
  git(join(root, "benign-detached"), "checkout", "-q", "--detach");
  const inc = join(root, "benign-include");
  writeFileSync(join(inc, ".git", "ok.cfg"), "[user]\n\tname = Included\n");
  git(inc, "config", "include.path", "ok.cfg");
  makeRepo(join(root, "benign-no-remote"));
}

/** A hostile repo (filter, fsmonitor, hooks, upload-pack) that another uid owns. */
function buildForeign(repo: string): void {
  buildCase(
    {
      name: "foreign",
      remote: "local",
      arm: "status",
      config: '[filter "foreign"]\n\tclean = $S\n[core]\n\tfsmonitor = $S\n[remote "origin"]\n\tuploadpack = $S\n',
    },
    repo,
    ctx,
  );
  execFileSync("chown", ["-R", `${FOREIGN_UID}:${FOREIGN_UID}`, repo]);
}

interface Plain {
  branch: string | null;
  detached: boolean;
  head: string | null;
  upstream: string | null;
  ahead: number | null;
  behind: number | null;
  staged: number;
  unstaged: number;
  untracked: number;
  conflicted: number;
  hasRemote: boolean;
}

/** What plain git says about a repo (porcelain v2), for comparison with a snapshot. */
function plainGit(repo: string): Plain {
  const env = scannerEnv();
  const tokens = execFileSync("git", ["status", "--porcelain=v2", "--branch", "-z", "--untracked-files=all"], {
    cwd: repo,
    env,
  })
    .toString()
    .split("\0");
  const p: Plain = {
    branch: null,
    detached: false,
    head: null,
    upstream: null,
    ahead: null,
    behind: null,
    staged: 0,
    unstaged: 0,
    untracked: 0,
    conflicted: 0,
    hasRemote: false,
  };
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i] as string;
    const [kind, xy = ".."] = t.split(" ");
    if (t.startsWith("# branch.head ")) p.branch = t.slice(14) === "(detached)" ? null : t.slice(14);
    if (t.startsWith("# branch.oid ")) p.head = t.slice(13) === "(initial)" ? null : t.slice(13);
    if (t.startsWith("# branch.upstream ")) p.upstream = t.slice(18);
    const ab = /^# branch\.ab \+(\d+) -(\d+)$/.exec(t);
    if (ab) [p.ahead, p.behind] = [Number(ab[1]), Number(ab[2])];
    if (kind === "1" || kind === "2") {
      if (xy[0] !== ".") p.staged++;
      if (xy[1] !== ".") p.unstaged++;
      if (kind === "2") i++;
    }
    if (kind === "u") p.conflicted++;
    if (kind === "?") p.untracked++;
  }
  p.detached = p.branch === null && p.head !== null;
  p.hasRemote = execFileSync("git", ["remote"], { cwd: repo, env }).toString().trim() !== "";
  return p;
}

const byName = (report: ProbeReport, root: string, name: string) =>
  report.repos.find((r) => r.path === join(root, name));

test("no hostile repository's program runs during a scan, a fetch or a rescan; each is armed for plain git", async (t) => {
  const cases = [...CONFIG_CASES, ...ENV_CASES];
  assert.ok(cases.length >= 30, `the corpus has ${cases.length} hostile repos`);
  const envAll = Object.assign({}, ...ENV_CASES.map(envOf)) as Record<string, string>;
  const [main, hostileEnv] = await Promise.all([
    probe({ roots: [roots.config, roots.foreign], trustedOwners: [] }, scannerEnv()),
    probe({ roots: [roots.env], trustedOwners: [] }, scannerEnv(envAll)),
  ]);
  for (const phase of ["scan", "fetch", "rescan"] as const) {
    assert.deepEqual([...main.marks[phase], ...hostileEnv.marks[phase]], [], `programs ran during the ${phase}`);
  }
  assert.equal(
    main.rescanResolved + hostileEnv.rescanResolved,
    0,
    "a rescan resolved config again although no config file changed",
  );
  pushToRemote("before arming");
  for (const c of cases) {
    await t.test(c.name, async () => {
      const root = c.env ? roots.env : roots.config;
      const seen = byName(c.env ? hostileEnv : main, root, c.name);
      assert.ok(seen, "discovered under its root");
      if (c.expect?.scanError) assert.match(seen.scanned.error ?? "", c.expect.scanError);
      else {
        assert.equal(seen.scanned.error, null);
        assert.ok(seen.scanned.unstaged >= 1, "status ran (a.txt is modified)");
      }
      const fetchable = c.expect?.fetched ?? (c.remote === "local" || c.remote === "smart-http");
      assert.equal(
        seen.fetched,
        fetchable,
        fetchable ? "fetched (with its programs inert)" : "its transport is refused or fails",
      );
      if (fetchable) assert.equal(seen.rescanned.behind, 1);
      if (c.companion) {
        const other = byName(c.env ? hostileEnv : main, root, `${c.name}${c.companion}`);
        assert.equal(other?.rescanned.error, null, `${c.companion} scanned`);
        assert.ok((other?.rescanned.unstaged ?? 0) >= 1, `${c.companion}: status ran`);
      }
      if (!c.arm) return;
      await arm(c, join(root, c.name));
      assert.ok(existsSync(join(ctx.marks, c.name)), `control: plain git (${c.arm}) runs the program`);
    });
  }
});

test("benign repositories: the snapshot is what plain git reports", async () => {
  const report = await probe({ roots: [roots.config], trustedOwners: [] }, scannerEnv());
  for (const name of BENIGN) {
    const seen = byName(report, roots.config, name);
    assert.ok(seen, name);
    const s = seen.rescanned;
    assert.equal(s.error, null, name);
    const plain = plainGit(join(roots.config, name));
    const got: Plain = {
      branch: s.branch,
      detached: s.detached,
      head: s.head?.sha ?? null,
      upstream: s.upstream,
      ahead: s.ahead,
      behind: s.behind,
      staged: s.staged,
      unstaged: s.unstaged,
      untracked: s.untracked,
      conflicted: s.conflicted,
      hasRemote: s.hasRemote,
    };
    assert.deepEqual(got, plain, name);
  }
  const dirty = byName(report, roots.config, "benign-dirty")?.rescanned;
  assert.deepEqual([dirty?.staged, dirty?.unstaged, dirty?.untracked], [1, 1, 2], "the dirty repo is dirty as built");
  assert.equal(byName(report, roots.config, "benign-ahead")?.rescanned.ahead, 1);
});

test("another user's repository under a root is not opened, and is reported untrusted until its owner is trusted", async () => {
  // Fails, never skips, without root: chown to another uid is what it proves.
  assert.equal(process.getuid?.(), 0, "this test needs root (chown to another uid); it runs as root in CI");
  const repo = join(roots.foreign, "foreign");
  const refused = await probe({ roots: [roots.foreign], trustedOwners: [] }, scannerEnv());
  const seen = byName(refused, roots.foreign, "foreign");
  assert.ok(seen);
  assert.deepEqual(seen.scanned.untrusted, { uid: FOREIGN_UID, user: null });
  assert.equal(seen.scanned.error, `owned by uid ${FOREIGN_UID}, not in scanner.trustedOwners; not scanned`);
  assert.equal(seen.scanned.branch, null);
  assert.equal(seen.fetched, false);
  assert.equal(refused.marks.rescan.includes("foreign"), false, "its program ran");
  const trusted = await probe({ roots: [roots.foreign], trustedOwners: [String(FOREIGN_UID)] }, scannerEnv());
  const opened = byName(trusted, roots.foreign, "foreign");
  assert.equal(opened?.scanned.untrusted, null);
  assert.equal(opened?.scanned.error, null);
  assert.equal(opened?.scanned.branch, "main");
  assert.ok((opened?.scanned.unstaged ?? 0) >= 1);
  assert.equal(opened?.fetched, true, "a trusted owner's repo is fetched, its upload-pack inert");
  assert.equal(trusted.marks.rescan.includes("foreign"), false, "its filter, fsmonitor or upload-pack ran");
  // Control: git itself refuses it, and runs its programs once told to trust it.
  const env = scannerEnv();
  const plain = await run("git", ["status", "--porcelain"], { cwd: repo, env, timeout: 30_000 });
  assert.match(plain.stderr, /dubious ownership/);
  await run("git", ["-c", "safe.directory=*", "status", "--porcelain"], { cwd: repo, env, timeout: 30_000 });
  assert.ok(existsSync(join(ctx.marks, "foreign")), "control: with safe.directory plain git runs its filter");
});
