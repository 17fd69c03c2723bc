import type { MirrorConfig, ServiceManifest } from "@mirror/contracts";

type Shaped = {
  shape?: Record<string, { parse(v: unknown): unknown }>;
  in?: Shaped;
  unwrap?: () => Shaped;
  def?: { innerType?: Shaped };
};

/** The default `port` of a config section's schema, through .prefault(), .transform() and the like. */
function schemaDefaultPort(manifest: ServiceManifest): number | undefined {
  let schema: Shaped | undefined = manifest.config.schema as unknown as Shaped;
  for (let i = 0; schema && !schema.shape && i < 5; i++)
    schema = schema.in ?? schema.def?.innerType ?? schema.unwrap?.();
  try {
    const port = schema?.shape?.port?.parse(undefined);
    return typeof port === "number" ? port : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A service's HTTP port: its config section's `port` when mirror.yaml sets one other than the
 * section's default, else the manifest's port. So a copied service (model-echo from model-rules)
 * keeps its section and listens on the port its own manifest names.
 */
export function portOf(manifest: ServiceManifest): (config: MirrorConfig) => number {
  const sectionDefault = schemaDefaultPort(manifest);
  return (config) => {
    let section: unknown = config;
    for (const key of manifest.config.section.split("."))
      section = (section as Record<string, unknown> | undefined)?.[key];
    const port = (section as { port?: unknown } | undefined)?.port;
    return typeof port === "number" && port !== sectionDefault ? port : manifest.port;
  };
}
