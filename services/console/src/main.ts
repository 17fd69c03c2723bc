import { defineService, portOf } from "@mirror/kit";
import { consoleSpec } from "./service.js";
import { manifest } from "./manifest.js";

defineService({ ...consoleSpec(), name: manifest.name, port: portOf(manifest), manifest });
