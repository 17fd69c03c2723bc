import { type EndpointHandler, endpoint } from "@mirror/bus";
import { HISTORY_WINDOWS, historyCheck, historyRepo, historyStatus, historyTrend } from "@mirror/contracts";
import { badWindow } from "./errors.js";
import type { HistoryQueries } from "./queries.js";

/** `mirror.history.*`: read-only answers for the console, status pages, badges and `mirror trend`. */
export function historyEndpoints(q: HistoryQueries, timeZone: string): EndpointHandler[] {
  return [
    endpoint(historyCheck, async (req) => {
      if (!HISTORY_WINDOWS.includes(req.window)) throw badWindow(req.window);
      return q.check(req.name, req.window);
    }),
    endpoint(historyStatus, async (req) => ({
      checks: await Promise.all(req.checks.map((name) => q.summary(name, req.days))),
    })),
    endpoint(historyTrend, async (req) => ({ timeZone, days: await q.trend(req.days) })),
    endpoint(historyRepo, async (req) => q.repo(req.repo, req.days)),
  ];
}
