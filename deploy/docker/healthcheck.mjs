// Container HEALTHCHECK: exit 0 when the service's GET /healthz answers 2xx.
// The port is the service's default, from the manifest `pnpm mirror bundle` writes beside the
// bundle (dist/manifest.json), unless MIRROR_HEALTH_PORT says otherwise (set it when mirror.yaml
// moves the service to another port).
import { readFileSync } from "node:fs";

function manifestPort() {
  try {
    return JSON.parse(readFileSync(process.env.MIRROR_MANIFEST_FILE || "/app/dist/manifest.json", "utf8")).port;
  } catch {
    return undefined;
  }
}

const port = Number(process.env.MIRROR_HEALTH_PORT || manifestPort());
if (!port) {
  console.error(`no port for service "${process.env.MIRROR_SERVICE}": no dist/manifest.json; set MIRROR_HEALTH_PORT`);
  process.exit(2);
}
try {
  const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2500) });
  process.exit(res.ok ? 0 : 1);
} catch (err) {
  console.error(`healthz on port ${port}: ${err.message}`);
  process.exit(1);
}
