import { defineService } from "@mirror/kit";
import { startScanner } from "./app.js";

defineService({
  name: "scanner",
  description: "Finds git repositories under scanner.roots and publishes their state",
  port: (c) => c.scanner.port,
  start: startScanner,
});
