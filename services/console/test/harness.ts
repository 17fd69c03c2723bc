// One real mesh for the console's tests: `pnpm start` with a dirty repo, a repo named like an
// HTML tag, a clean repo to dirty later, a webhook channel, and users added with `pnpm mirror user`.
import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  freePort,
  makeRepo,
  type Mesh,
  REPO_ROOT,
  type Receiver,
  type ServerHandle,
  startMesh,
  startReceiver,
  tempDir,
} from "@mirror/testkit";

export const HTML_NAME = "<img src=x onerror=alert(1)>";

export interface ConsoleMesh {
  mesh: Mesh;
  hook: Receiver;
  /** The console's base URL (also its publicUrl). */
  url: string;
  loopsPort: number;
  /** A port nothing listens on: the `down` webhook channel's deliveries fail there. */
  closedPort: number;
  dirty: string;
  htmlNamed: string;
  clean: string;
  /** Runs `pnpm mirror ARGS` against this mesh, with `stdin` on standard input. */
  mirror(args: string[], stdin?: string): Promise<{ code: number; stdout: string; stderr: string }>;
  stop(): Promise<void>;
}

export async function startConsoleMesh(nats: ServerHandle, redis: ServerHandle): Promise<ConsoleMesh> {
  const hook = await startReceiver();
  const root = tempDir("mirror-console-roots-");
  const dirty = makeRepo(join(root, "dirty-one"));
  writeFileSync(join(dirty, "notes.txt"), "unfinished\n");
  const htmlNamed = makeRepo(join(root, HTML_NAME));
  writeFileSync(join(htmlNamed, "wip.txt"), "unfinished\n");
  const clean = makeRepo(join(root, "clean-later"));
  const [port, loopsPort, closedPort] = [await freePort(), await freePort(), await freePort()];
  const url = `http://127.0.0.1:${port}`;
  const yaml = `scanner: { roots: [ "${root}" ], interval: 1s, port: 0 }
tracker: { port: 0, checks: [ { name: web, interval: 1s, http: { url: "${hook.url}health" } } ] }
loops: { port: ${loopsPort}, rules: { repo.dirty: { after: 0s } } }
notifier: { port: 0, groupWait: 0s, groupInterval: 1s, maxAttempts: 2, backoff: 200ms, channels: [ { name: hook, type: webhook, url: "${hook.url}" }, { name: down, type: webhook, url: "http://127.0.0.1:${closedPort}/hook" } ] }
model: { port: 0 }
history: { port: 0 }
console: { port: ${port}, publicUrl: "${url}", trustedHeader: Remote-User, trustedProxies: [ "127.0.0.1" ] }
`;
  const env = { MIRROR_NATS_URL: nats.url, MIRROR_REDIS_URL: redis.url, MIRROR_HTTP_HOST: "127.0.0.1" };
  const mesh = startMesh(yaml, { env });
  const stop = async () => {
    await mesh.stop();
    await hook.close();
  };
  try {
    for (const name of ["console", "loop-detector", "scanner"])
      await mesh.waitForLine(new RegExp(`^${name} .*"msg":"service started"`), 120_000);
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}\n${mesh.output.slice(-40).join("\n")}`);
  }
  const mirror = (args: string[], stdin?: string) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      const child = execFile(
        "pnpm",
        ["mirror", ...args],
        {
          cwd: REPO_ROOT,
          env: { ...process.env, MIRROR_CONFIG: mesh.configFile, MIRROR_DATA_DIR: mesh.dataDir, ...env },
        },
        (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
      child.stdin?.end(stdin ?? "");
    });
  return { mesh, hook, url, loopsPort, closedPort, dirty, htmlNamed, clean, mirror, stop };
}

/** Logs in over HTTP; the session cookie and CSRF token. */
export async function login(
  url: string,
  username: string,
  password: string,
): Promise<{ cookie: string; csrf: string }> {
  const res = await fetch(`${url}/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username, password }),
  });
  if (res.status !== 200) throw new Error(`login ${username}: ${res.status} ${await res.text()}`);
  const cookie = (res.headers.get("set-cookie") ?? "").split(";")[0] as string;
  const body = (await res.json()) as { csrfToken: string };
  return { cookie, csrf: body.csrfToken };
}

/** Reads an event stream until `pattern` matches what arrived, or fails after `ms`. */
export async function readStreamUntil(res: Response, pattern: RegExp, ms: number): Promise<string> {
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let text = "";
  const deadline = Date.now() + ms;
  try {
    while (Date.now() < deadline) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<undefined>(
        (resolve) => (timer = setTimeout(() => resolve(undefined), deadline - Date.now())),
      );
      const chunk = await Promise.race([reader.read(), timeout]);
      clearTimeout(timer);
      if (!chunk || chunk.done) break;
      text += decoder.decode(chunk.value, { stream: true });
      if (pattern.test(text)) return text;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  throw new Error(`no ${pattern} in the stream within ${ms} ms; got: ${text.slice(0, 500)}`);
}
