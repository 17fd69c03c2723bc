import { defineService, portOf } from "@mirror/kit";
import { loopDetectorSpec } from "./app.js";
import { manifest } from "./manifest.js";

defineService({ ...loopDetectorSpec(), name: manifest.name, port: portOf(manifest), manifest });
