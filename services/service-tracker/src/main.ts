import { defineService, portOf } from "@mirror/kit";
import { trackerSpec } from "./app.js";
import { manifest } from "./manifest.js";

defineService({ ...trackerSpec(), name: manifest.name, port: portOf(manifest), manifest });
