import { endpoint, type EndpointHandler } from "@mirror/bus";
import {
  loopsAck,
  loopsClose,
  loopsGet,
  loopsList,
  loopsReopen,
  loopsSnooze,
  loopsUnack,
  maintenanceAdd,
  maintenanceEnd,
  maintenanceList,
} from "@mirror/contracts";
import type { LoopApi } from "./loop-api.js";
import type { MaintenanceApi } from "./maintenance-api.js";

/**
 * The same commands as the HTTP API, as NATS Services API endpoints (`mirror.loops.*`).
 * A LoopCommandError's `status` becomes the Services API error code (404, 400, 409).
 */
export function loopEndpoints(api: LoopApi, maintenance: MaintenanceApi): EndpointHandler[] {
  return [
    endpoint(loopsList, async (req) => ({ loops: await api.list(req) })),
    endpoint(loopsGet, async (req) => ({ loop: await api.get(req.loopId) })),
    endpoint(loopsAck, async (req) => ({ loop: await api.command(req.loopId, { type: "ack" }, req.by, req.note) })),
    endpoint(loopsClose, async (req) => ({ loop: await api.command(req.loopId, { type: "close" }, req.by, req.note) })),
    endpoint(loopsReopen, async (req) => ({
      loop: await api.command(req.loopId, { type: "reopen" }, req.by, req.note),
    })),
    endpoint(loopsUnack, async (req) => ({ loop: await api.command(req.loopId, { type: "unack" }, req.by, req.note) })),
    endpoint(loopsSnooze, async (req) => ({ loop: await api.snooze(req) })),
    endpoint(maintenanceAdd, async (req) => ({ window: await maintenance.add(req) })),
    endpoint(maintenanceList, async () => ({ windows: await maintenance.list() })),
    endpoint(maintenanceEnd, async (req) => ({ window: await maintenance.end(req.name) })),
  ];
}
