import type { Logger } from "pino";
import { outcomeOf } from "./errors.js";
import type { ModelMetrics } from "./metrics.js";

/**
 * Counts and times one answered request: outcome "ok", "retried_ok" (valid after the one retry),
 * or the error's code ("timeout", "bad_output", ...). Errors are logged without request data.
 */
export async function instrument<T>(
  at: { metrics: ModelMetrics; log: Logger; adapter: string; endpoint: string },
  work: () => Promise<{ value: T; retried?: boolean }>,
): Promise<T> {
  const end = at.metrics.latency.startTimer({ adapter: at.adapter, endpoint: at.endpoint });
  try {
    const { value, retried } = await work();
    at.metrics.requests.inc({ adapter: at.adapter, endpoint: at.endpoint, outcome: retried ? "retried_ok" : "ok" });
    return value;
  } catch (err) {
    const outcome = outcomeOf(err);
    at.metrics.requests.inc({ adapter: at.adapter, endpoint: at.endpoint, outcome });
    at.log.warn({ endpoint: at.endpoint, outcome, err: (err as Error).message }, "model request failed");
    throw err;
  } finally {
    end();
  }
}
