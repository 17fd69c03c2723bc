import { z } from "zod";
import { Port } from "./port.js";

function knownTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** `history`: uptime, response times, incidents and the maintenance trend. Read by: history. */
export const HistoryConfig = z
  .strictObject({
    port: Port.default(9108),
    /** IANA time zone whose calendar days the day buckets follow (status page bars, trend days). */
    timeZone: z.string().refine(knownTimeZone, "not a known IANA time zone").default("UTC"),
    /** Results held in memory while Redis is unavailable; past this many they are dropped (and counted). */
    bufferLimit: z.number().int().min(0).max(1_000_000).default(10_000),
  })
  .prefault({});
export type HistoryConfig = z.infer<typeof HistoryConfig>;
