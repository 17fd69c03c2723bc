import { defineService, portOf } from "@mirror/kit";
import { startScanner } from "./app.js";
import { manifest } from "./manifest.js";

defineService({
  name: manifest.name,
  manifest,
  description: "Finds git repositories under scanner.roots and publishes their state",
  port: portOf(manifest),
  start: startScanner,
});
