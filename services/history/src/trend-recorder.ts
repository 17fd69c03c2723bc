import type { LoopEvent } from "@mirror/contracts";
import { defineLua, runLua } from "@mirror/kit";
import type { Redis } from "ioredis";
import type { Calendar } from "./buckets.js";
import {
  CLOSED_LOOP_TTL_MS,
  checkKeys,
  LOOP_PREFIX,
  OPEN_LOOPS,
  REPO_SIGNAL_WINDOW_MS,
  repoKey,
  TREND_TTL_MS,
  trendKey,
} from "./keys.js";
import { LOOP } from "./scripts.js";

/** Ties a service loop to its check's open incident (the incident names the loop that reported it). */
const LINK = defineLua("historyLink", {
  keys: ["meta"],
  args: ["loopId", "status"],
  body: `
if redis.call('EXISTS', meta) == 0 then return 0 end
if status == 'closed' then
  if redis.call('HGET', meta, 'loopId') == loopId then redis.call('HDEL', meta, 'loopId') end
  return 1
end
redis.call('HSET', meta, 'loopId', loopId)
local open = redis.call('HGET', meta, 'open')
if open then
  local o = cjson.decode(open)
  if o.loopId == '' then
    o.loopId = loopId
    redis.call('HSET', meta, 'open', cjson.encode(o))
  end
end
return 1
`,
});

/**
 * Records loop transitions for the maintenance trend: each revision of a loop counts once (the
 * loop's `rev` orders them), so redeliveries and replays change nothing.
 */
export class TrendRecorder {
  constructor(private readonly deps: { store: Redis; calendar: Calendar; clock: { now(): number } }) {}

  /** Applies one loop event; resolves to whether it was new. Throws when Redis fails (the event is redelivered). */
  async record(event: LoopEvent): Promise<boolean> {
    const { loop } = event;
    const now = this.deps.clock.now();
    const parsed = Date.parse(loop.updatedAt);
    const at = Number.isFinite(parsed) && parsed <= now + 300_000 ? parsed : now;
    const openedAt = Math.min(Date.parse(loop.openedAt) || at, at);
    const closedAt = loop.closedAt ? Date.parse(loop.closedAt) : -1;
    const { store } = this.deps;
    const repo = loop.entity.type === "repo" && loop.entity.repo ? loop.entity.repo : undefined;
    const keys = {
      rec: `${LOOP_PREFIX}${loop.id}`,
      openSet: OPEN_LOOPS,
      day: trendKey(this.deps.calendar.day(at)),
      loopPrefix: LOOP_PREFIX,
      repoSignals: repoKey(repo ?? ""),
    };
    const args = {
      id: loop.id,
      revArg: loop.rev,
      kind: loop.kind,
      sev: loop.severity,
      status: loop.status,
      openedAtArg: openedAt,
      atArg: at,
      closedAtArg: Number.isFinite(closedAt) ? closedAt : -1,
      dayTtlMs: TREND_TTL_MS,
      closedTtlMs: CLOSED_LOOP_TTL_MS,
      isRepo: repo ? "1" : "0",
      keepSince: now - REPO_SIGNAL_WINDOW_MS,
    };
    const n = await runLua(store, LOOP, keys, args);
    if (loop.entity.type === "service" && loop.entity.service)
      await runLua(
        store,
        LINK,
        { meta: checkKeys(loop.entity.service).meta },
        { loopId: loop.id, status: loop.status },
      );
    return n === 1;
  }
}
