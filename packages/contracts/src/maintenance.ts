import { z } from "zod";
import { MaintenanceWindow } from "./config/loops.js";
import { defineEndpoint } from "./event.js";
import { IsoTime } from "./events/common.js";

const By = z.string().min(1).max(200).default("operator");

/**
 * A maintenance window made at run time (`mirror maintenance add`): one-off for a duration
 * (`for: "2h"`) or until a time, or recurring (`cron`, `duration`, `tz`). The loop-detector
 * keeps it in its store; it counts beside the windows of `loops.maintenance`.
 */
export const MaintenanceAddRequest = z.object({
  name: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, "a window name is 1-64 letters, digits, '.', '-' or '_'"),
  match: MaintenanceWindow.shape.match,
  for: z.string().optional(),
  until: IsoTime.optional(),
  cron: z.string().optional(),
  duration: z.string().optional(),
  tz: z.string().optional(),
  by: By,
});
export type MaintenanceAddRequest = z.infer<typeof MaintenanceAddRequest>;

/** A window as listed: its settings, where it comes from, whether it is on now and until when. */
export const MaintenanceInfo = z.object({
  name: z.string(),
  source: z.enum(["config", "runtime"]),
  match: MaintenanceWindow.shape.match,
  start: IsoTime.optional(),
  end: IsoTime.optional(),
  cron: z.string().optional(),
  duration: z.number().optional(),
  tz: z.string().optional(),
  createdBy: z.string().nullable().default(null),
  active: z.boolean(),
  activeUntil: IsoTime.nullable().default(null),
});
export type MaintenanceInfo = z.infer<typeof MaintenanceInfo>;

export const MaintenanceReply = z.object({ window: MaintenanceInfo });
export const MaintenanceListReply = z.object({ windows: z.array(MaintenanceInfo) });
export const MaintenanceEndRequest = z.object({ name: z.string().min(1), by: By });

/**
 * Maintenance windows at run time, served by the loop-detector: add (400 bad input, 409 a
 * window of that name exists), list, and end (404 no runtime window of that name; windows of
 * mirror.yaml end by editing it).
 */
export const maintenanceAdd = defineEndpoint({
  name: "maintenance-add",
  subject: "mirror.loops.maintenance.add",
  request: MaintenanceAddRequest,
  reply: MaintenanceReply,
});
export const maintenanceList = defineEndpoint({
  name: "maintenance-list",
  subject: "mirror.loops.maintenance.list",
  request: z.object({}),
  reply: MaintenanceListReply,
});
export const maintenanceEnd = defineEndpoint({
  name: "maintenance-end",
  subject: "mirror.loops.maintenance.end",
  request: MaintenanceEndRequest,
  reply: MaintenanceReply,
});
