import { manifestPublishes, type ServiceManifest, subjectMatches } from "@mirror/contracts";
import { BusError } from "./errors.js";

/** The part of a service manifest the bus enforces. */
export type BusManifest = Pick<
  ServiceManifest,
  "name" | "file" | "publishes" | "consumes" | "requests" | "serves" | "readsHistory"
> & { watches?: readonly string[] };

/** A publish, consume, request or endpoint that the service's manifest does not declare. */
export class UndeclaredError extends BusError {
  override name = "UndeclaredError";
  constructor(
    readonly service: string,
    readonly subject: string,
    readonly file: string,
    what: string,
    field: string,
  ) {
    const fix = field.includes(":") ? `set \`${field}\`` : `add it to \`${field}\``;
    super(
      "MIRROR_ERR_UNDECLARED",
      `"${service}" ${what} ${subject}, which its manifest does not declare: ${fix} in ${file}`,
    );
  }
}

/**
 * The run-time half of a manifest: the bus asks this before every publish, consume, request,
 * endpoint and history read, whether or not nats-server permissions are on. Without a manifest
 * (tests, the CLI's operator key) everything passes.
 */
export class Declared {
  constructor(
    private readonly service: string,
    readonly manifest: BusManifest | undefined,
  ) {
    if (manifest && manifest.name !== service) {
      throw new BusError(
        "MIRROR_ERR_UNDECLARED",
        `the bus of "${service}" was given the manifest of "${manifest.name}" (${manifest.file})`,
      );
    }
  }

  private refuse(subject: string, what: string, field: string): never {
    throw new UndeclaredError(this.service, subject, this.manifest?.file ?? "its manifest", what, field);
  }

  publish(subject: string): void {
    const m = this.manifest;
    if (m && !manifestPublishes(m, subject)) this.refuse(subject, "publishes on", "publishes");
  }

  consume(durable: string, filter: string): void {
    const m = this.manifest;
    if (m && !m.consumes.some((c) => c.durable === durable && c.filter === filter))
      this.refuse(`${filter} (durable "${durable}")`, "consumes", "consumes");
  }

  watch(filter: string): void {
    const m = this.manifest;
    if (m && !(m.watches ?? []).some((p) => subjectMatches(p, filter))) this.refuse(filter, "watches", "watches");
  }

  request(subject: string): void {
    const m = this.manifest;
    if (m && !m.requests.some((p) => subjectMatches(p, subject))) this.refuse(subject, "requests", "requests");
  }

  serve(subject: string): void {
    const m = this.manifest;
    if (m && !m.serves.some((p) => subjectMatches(p, subject))) this.refuse(subject, "serves", "serves");
  }

  readHistory(filter: string): void {
    const m = this.manifest;
    if (m && !m.readsHistory) this.refuse(filter, "reads the stored history of", "readsHistory: true");
  }
}
