import { defineService } from "@mirror/kit";
import { startTracker } from "./app.js";

defineService({
  name: "service-tracker",
  description: "Tracks HTTP/TCP checks, job heartbeats and the mesh's own services",
  port: (c) => c.tracker.port,
  start: startTracker,
});
