// Container HEALTHCHECK: exit 0 when the service's GET /healthz answers 2xx.
// The port is the service's default unless MIRROR_HEALTH_PORT says otherwise
// (set it when mirror.yaml moves the service to another port).
const DEFAULT_PORTS = {
  scanner: 9101,
  "service-tracker": 9102,
  "loop-detector": 9103,
  notifier: 9104,
  "model-rules": 9105,
  "model-openai": 9106,
};
const port = Number(process.env.MIRROR_HEALTH_PORT || DEFAULT_PORTS[process.env.MIRROR_SERVICE]);
if (!port) {
  console.error(`no port for service "${process.env.MIRROR_SERVICE}": set MIRROR_HEALTH_PORT`);
  process.exit(2);
}
try {
  const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2500) });
  process.exit(res.ok ? 0 : 1);
} catch (err) {
  console.error(`healthz on port ${port}: ${err.message}`);
  process.exit(1);
}
