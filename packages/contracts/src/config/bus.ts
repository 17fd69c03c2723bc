import { z } from "zod";
import { duration } from "../duration.js";

export const BusConfig = z
  .strictObject({
    url: z.string().default("nats://127.0.0.1:4222"),
    /** Path of a credentials file (nkey seed); see `mirror identity`. */
    credentials: z.string().optional(),
    stream: z.strictObject({
      maxAge: duration("30d"),
      maxBytes: z.number().int().positive().default(1024 * 1024 * 1024),
      duplicateWindow: duration("2m"),
    }).prefault({}),
  })
  .prefault({});

export const StoreConfig = z.strictObject({ url: z.string().default("redis://127.0.0.1:6379") }).prefault({});
