import { randomUUID } from "node:crypto";
import { ValidationError } from "@mirror/bus";
import { parseDuration, type Silence, type SilenceAddRequest } from "@mirror/contracts";
import type { Redis } from "ioredis";
import type { z } from "zod";
import { parseMatcher } from "./matchers.js";

/** The hash of silences by id, under the notifier's prefix (only this module names it). */
const SILENCES = "silences";
/** Expired silences are kept this long for `silence list --all`, then pruned. */
const KEEP_EXPIRED_MS = 7 * 86_400_000;

/** Silences made at run time (CLI, NATS endpoint), in the notifier's Redis hash `silences`. */
export class SilenceStore {
  constructor(private readonly redis: Redis) {}

  async add(req: z.output<typeof SilenceAddRequest>, now: number): Promise<Silence> {
    for (const m of req.matchers) {
      try {
        parseMatcher(m);
      } catch (err) {
        throw new ValidationError((err as Error).message);
      }
    }
    let until: number;
    if (req.until) until = Date.parse(req.until);
    else if (req.for) {
      try {
        until = now + parseDuration(req.for);
      } catch (err) {
        throw new ValidationError(`for: ${(err as Error).message}`);
      }
    } else throw new ValidationError("a silence needs an end: `until` (a time) or `for` (a duration such as 2h)");
    if (until <= now) throw new ValidationError("the silence would end before it starts");
    const silence: Silence = {
      id: randomUUID(),
      matchers: req.matchers,
      until: new Date(until).toISOString(),
      comment: req.comment,
      createdBy: req.by,
      createdAt: new Date(now).toISOString(),
    };
    await this.redis.hset(SILENCES, silence.id, JSON.stringify(silence));
    return silence;
  }

  async list(now: number, all = false): Promise<Silence[]> {
    const raw = await this.redis.hgetall(SILENCES);
    const out: Silence[] = [];
    for (const [id, v] of Object.entries(raw)) {
      const s = JSON.parse(v) as Silence;
      const until = Date.parse(s.until);
      if (until + KEEP_EXPIRED_MS < now) await this.redis.hdel(SILENCES, id);
      else if (all || until > now) out.push(s);
    }
    return out.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  async expire(id: string, now: number): Promise<Silence> {
    const raw = await this.redis.hget(SILENCES, id);
    if (!raw) throw new ValidationError(`no silence with id ${id}`);
    const s = JSON.parse(raw) as Silence;
    const ended: Silence = { ...s, until: new Date(Math.min(now, Date.parse(s.until))).toISOString() };
    await this.redis.hset(SILENCES, id, JSON.stringify(ended));
    return ended;
  }
}
