import type { LoopEvent } from "@mirror/contracts";
import type { Redis } from "ioredis";
import type { Calendar } from "./buckets.js";
import { CLOSED_LOOP_TTL_MS, checkKeys, LOOP_PREFIX, OPEN_LOOPS, REPO_SIGNAL_WINDOW_MS, repoKey, TREND_TTL_MS, trendKey } from "./keys.js";
import { LOOP } from "./scripts.js";

/** Ties a service loop to its check's open incident (the incident names the loop that reported it). */
const LINK = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if ARGV[2] == 'closed' then
  if redis.call('HGET', KEYS[1], 'loopId') == ARGV[1] then redis.call('HDEL', KEYS[1], 'loopId') end
  return 1
end
redis.call('HSET', KEYS[1], 'loopId', ARGV[1])
local open = redis.call('HGET', KEYS[1], 'open')
if open then
  local o = cjson.decode(open)
  if o.loopId == '' then
    o.loopId = ARGV[1]
    redis.call('HSET', KEYS[1], 'open', cjson.encode(o))
  end
end
return 1
`;

interface Scripted extends Redis {
  historyLoop(...args: (string | number)[]): Promise<number>;
  historyLink(...args: (string | number)[]): Promise<number>;
}

/**
 * Records loop transitions for the maintenance trend: each revision of a loop counts once (the
 * loop's `rev` orders them), so redeliveries and replays change nothing.
 */
export class TrendRecorder {
  constructor(private readonly deps: { store: Redis; calendar: Calendar; clock: { now(): number } }) {
    const s = deps.store as unknown as Partial<Scripted> & Redis;
    if (!s.historyLoop) s.defineCommand("historyLoop", { numberOfKeys: 5, lua: LOOP });
    if (!s.historyLink) s.defineCommand("historyLink", { numberOfKeys: 1, lua: LINK });
  }

  /** Applies one loop event; resolves to whether it was new. Throws when Redis fails (the event is redelivered). */
  async record(event: LoopEvent): Promise<boolean> {
    const { loop } = event;
    const now = this.deps.clock.now();
    const parsed = Date.parse(loop.updatedAt);
    const at = Number.isFinite(parsed) && parsed <= now + 300_000 ? parsed : now;
    const openedAt = Math.min(Date.parse(loop.openedAt) || at, at);
    const closedAt = loop.closedAt ? Date.parse(loop.closedAt) : -1;
    const store = this.deps.store as Scripted;
    const repo = loop.entity.type === "repo" && loop.entity.repo ? loop.entity.repo : undefined;
    const n = await store.historyLoop(
      `${LOOP_PREFIX}${loop.id}`, OPEN_LOOPS, trendKey(this.deps.calendar.day(at)), LOOP_PREFIX, repoKey(repo ?? ""),
      loop.id, loop.rev, loop.kind, loop.severity, loop.status, openedAt, at, Number.isFinite(closedAt) ? closedAt : -1, TREND_TTL_MS, CLOSED_LOOP_TTL_MS,
      repo ? "1" : "0", now - REPO_SIGNAL_WINDOW_MS,
    );
    if (loop.entity.type === "service" && loop.entity.service) await store.historyLink(checkKeys(loop.entity.service).meta, loop.id, loop.status);
    return n === 1;
  }
}
