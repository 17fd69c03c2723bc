import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import {
  DurationError,
  ERRORS,
  errorSpec,
  formatErrorMessage,
  MirrorError,
  mirrorError,
  parseDuration,
  remoteErrorCode,
  remoteStatusOf,
} from "@mirror/contracts";

const ROOT = new URL("../../../", import.meta.url).pathname;
const REMOTE_ROW = "MIRROR_ERR_REMOTE_<status>";

/** Each table row of docs/ERRORS.md: `| \`CODE\` | status | retryable | meaning | what to do |`. */
function documented(): Map<string, { status: string; retryable: string; meaning: string; action: string }> {
  const rows = new Map<string, { status: string; retryable: string; meaning: string; action: string }>();
  for (const line of readFileSync(join(ROOT, "docs/ERRORS.md"), "utf8").split("\n")) {
    const m = /^\| `([A-Z_<>a-z]+)` *\| ([^|]+) \| ([^|]+) \| ([^|]+) \| ([^|]+) \|$/.exec(line);
    if (!m) continue;
    const [, code, status, retryable, meaning, action] = m as unknown as [
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    assert.ok(!rows.has(code), `docs/ERRORS.md lists ${code} twice`);
    rows.set(code, {
      status: status.trim(),
      retryable: retryable.trim(),
      meaning: meaning.trim(),
      action: action.trim(),
    });
  }
  return rows;
}

test("every registry code is in docs/ERRORS.md with its status and retryable, and every documented code is in the registry", () => {
  const docs = documented();
  for (const [code, spec] of Object.entries(ERRORS)) {
    const row = docs.get(code);
    assert.ok(row, `${code} is in packages/contracts/src/errors.ts but not in docs/ERRORS.md`);
    assert.equal(row.status, String(spec.status), `${code}: status in docs/ERRORS.md`);
    assert.equal(row.retryable, spec.retryable ? "yes" : "no", `${code}: retryable in docs/ERRORS.md`);
    assert.ok(
      row.meaning.length > 10 && row.action.length > 5,
      `${code}: docs/ERRORS.md says what it means and what to do`,
    );
  }
  for (const code of docs.keys()) {
    if (code === REMOTE_ROW) continue;
    assert.ok(code in ERRORS, `${code} is in docs/ERRORS.md but not in the registry`);
  }
  assert.ok(docs.has(REMOTE_ROW), "the MIRROR_ERR_REMOTE_<status> family is documented");
  assert.equal(docs.size, Object.keys(ERRORS).length + 1);
});

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    if (name === "node_modules" || name === "test" || name === "dist") continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sources(p));
    else if (/\.(ts|mts|mjs|js)$/.test(name)) out.push(p);
  }
  return out;
}

test("every MIRROR_ERR_ code written in the source is in the registry, and every registry code is used", () => {
  const files = ["packages", "services"].flatMap((g) =>
    readdirSync(join(ROOT, g)).flatMap((n) => sources(join(ROOT, g, n, "src"))),
  );
  assert.ok(files.length > 50, "the scan found the sources");
  const registry = join(ROOT, "packages/contracts/src/errors.ts");
  const used = new Set<string>();
  for (const file of files) {
    if (file === registry) continue;
    for (const [code] of readFileSync(file, "utf8").matchAll(
      /\b(?:MIRROR_ERR_[A-Z0-9_]*[A-Z0-9]|MODEL_[A-Z_]+[A-Z])\b/g,
    )) {
      if (code.startsWith("MIRROR_ERR_REMOTE")) continue;
      if (code.startsWith("MODEL_") && !(code in ERRORS)) continue; // other MODEL_ constants (MODEL_SERVICE ...)
      assert.ok(
        code in ERRORS,
        `${file.slice(ROOT.length)} uses ${code}, which packages/contracts/src/errors.ts does not define`,
      );
      used.add(code);
    }
  }
  const unused = Object.keys(ERRORS).filter((c) => !used.has(c) && !c.startsWith("MODEL_"));
  assert.deepEqual(unused, [], "codes of the registry that no source file uses");
});

test("an error built from the registry carries its code, status, retryable and cause", () => {
  const cause = new Error("below");
  const e = new MirrorError("MIRROR_ERR_LOOP_STATE", "already closed", { cause });
  assert.equal(e.code, "MIRROR_ERR_LOOP_STATE");
  assert.equal(e.status, 409);
  assert.equal(e.retryable, false);
  assert.equal(e.cause, cause);
  assert.equal(e.message, "already closed");
  assert.equal(mirrorError("MIRROR_ERR_LOOP_NOT_FOUND", ["abc"]).message, 'no loop with id "abc"');
  assert.equal(mirrorError("MIRROR_ERR_NOT_READY", ["x"], { status: 502 }).status, 502);
  assert.equal(formatErrorMessage("%s and %s", ["a"]), "a and %s");
  assert.throws(() => new MirrorError("MIRROR_ERR_NOPE" as never, "x"), /unknown error code MIRROR_ERR_NOPE/);
  const d = (() => {
    try {
      parseDuration("soon");
    } catch (err) {
      return err;
    }
  })();
  assert.ok(d instanceof DurationError && d instanceof MirrorError);
  assert.equal(d.code, "MIRROR_ERR_DURATION");
  assert.equal(d.status, 400);
});

test("the remote family keeps the remote's status in its code: a 400 is final, anything else may be retried", () => {
  assert.equal(remoteErrorCode(404), "MIRROR_ERR_REMOTE_404");
  assert.equal(remoteErrorCode("503"), "MIRROR_ERR_REMOTE_503");
  assert.equal(remoteErrorCode("garbage"), "MIRROR_ERR_REMOTE_500");
  assert.equal(remoteStatusOf("MIRROR_ERR_REMOTE_409"), 409);
  assert.equal(remoteStatusOf("MIRROR_ERR_TIMEOUT"), undefined);
  assert.deepEqual(errorSpec("MIRROR_ERR_REMOTE_400"), { status: 400, retryable: false, message: "%s" });
  assert.equal(errorSpec("MIRROR_ERR_REMOTE_404").retryable, true);
  assert.equal(errorSpec("MIRROR_ERR_REMOTE_404").status, 500);
});
