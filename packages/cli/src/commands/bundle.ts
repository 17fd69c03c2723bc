import { existsSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { bundleServices } from "../bundle.js";
import { loadManifests, startOrder } from "../manifests.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../../../..");

/**
 * `mirror bundle NAME --out DIR`: DIR/main.mjs (and its chunks) runs service NAME on plain node
 * with nothing else from the workspace (the Dockerfile's build stage; `pnpm start` keeps its own
 * bundles in node_modules/.cache/mirror). NAME `all`: DIR/main.mjs runs every service in one
 * process, as `pnpm start --single` does (the mesh's services, or those named after it:
 * `node main.mjs scanner notifier ...`; the compose profile `single`).
 */
export async function run(args: string[]): Promise<number> {
  const at = args.indexOf("--out");
  const out = at >= 0 ? args[at + 1] : undefined;
  const name = args.find((a, i) => !a.startsWith("-") && i !== at + 1);
  if (!name || !out) {
    process.stderr.write("usage: mirror bundle NAME --out DIR\n");
    return 2;
  }
  if (name === "all") {
    const known = readdirSync(join(root, "services")).filter((d) =>
      existsSync(join(root, "services", d, "src", "main.ts")),
    );
    const dir = resolve(out);
    rmSync(dir, { recursive: true, force: true });
    await bundleServices(root, {}, dir, {
      out: "main",
      names: known,
      defaults: startOrder(await loadManifests(root))
        .map((m) => m.name)
        .filter((n) => known.includes(n)),
    });
    process.stdout.write(`mirror: ${known.join(", ")} bundled into ${join(dir, "main.mjs")}, one process\n`);
    return 0;
  }
  if (name === "cli") {
    // The operator's command (compose's one-shot `provision`) runs from its sources under tsx, a dependency of
    // @mirror/cli that `pnpm deploy` puts in the image: nothing to bundle, and the image build goes on.
    process.stdout.write("mirror: cli runs from its sources (node --import tsx src/main.ts); nothing to bundle\n");
    return 0;
  }
  if (!existsSync(join(root, "services", name, "src", "main.ts"))) {
    process.stderr.write(`mirror: unknown service ${name}\n`);
    return 2;
  }
  const manifest = (await loadManifests(root)).find((m) => m.name === name);
  if (!manifest) {
    process.stderr.write(`mirror: services/${name} has no src/manifest.ts\n`);
    return 2;
  }
  const dir = resolve(out);
  rmSync(dir, { recursive: true, force: true });
  await bundleServices(root, { main: name }, dir);
  // The image's HEALTHCHECK finds the service's default port here (deploy/docker/healthcheck.mjs).
  writeFileSync(join(dir, "manifest.json"), `${JSON.stringify({ name: manifest.name, port: manifest.port })}\n`);
  process.stdout.write(`mirror: ${name} bundled into ${join(dir, "main.mjs")}\n`);
  return 0;
}
