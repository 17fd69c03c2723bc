import type { Bus } from "@mirror/bus";
import { DEFAULT_SITE, type ServiceStatus, serviceStatus, subjectToken } from "@mirror/contracts";
import type { Logger } from "pino";

/**
 * Publishes statuses through JetStream without letting a slow or absent bus pile up work:
 * at most one publish per entity is in flight, and only the newest waiting status is kept
 * (statuses are whole state, so an older one that was never sent is not needed).
 */
export class StatusPublisher {
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly waiting = new Map<string, ServiceStatus>();
  private closed = false;

  constructor(
    private readonly bus: Bus,
    private readonly log: Logger,
    private readonly onPublished: (s: ServiceStatus, outcome: "ok" | "error") => void = () => undefined,
  ) {}

  publish(status: ServiceStatus): void {
    if (this.closed) return;
    if (this.inFlight.has(status.name)) {
      this.waiting.set(status.name, status);
      return;
    }
    this.send(status);
  }

  private send(status: ServiceStatus): void {
    const token = subjectToken(status.name);
    // Two sites probe a check on the same slot: the site keeps their ids apart (JetStream de-duplication).
    const at = status.site && status.site !== DEFAULT_SITE ? `@${status.site}` : "";
    const p = this.bus
      .publish(serviceStatus, token, status, { id: `status:${token}${at}:${status.seq}`, time: status.observedAt })
      .then(
        () => this.onPublished(status, "ok"),
        (err) => {
          this.onPublished(status, "error");
          if (!this.closed) this.log.warn({ err: (err as Error).message, check: status.name }, "status not published");
        },
      )
      .finally(() => {
        this.inFlight.delete(status.name);
        const next = this.waiting.get(status.name);
        if (next && !this.closed) {
          this.waiting.delete(status.name);
          this.send(next);
        }
      });
    this.inFlight.set(status.name, p);
  }

  /** Lets in-flight publishes finish (the bus bounds how long), then refuses new ones. */
  async close(): Promise<void> {
    this.closed = true;
    this.waiting.clear();
    await Promise.allSettled([...this.inFlight.values()]);
  }
}
