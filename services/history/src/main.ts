import { defineService, portOf } from "@mirror/kit";
import { historySpec } from "./app.js";
import { manifest } from "./manifest.js";

defineService({ ...historySpec(), name: manifest.name, port: portOf(manifest), manifest });
