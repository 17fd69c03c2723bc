import { defineService, portOf } from "@mirror/kit";
import { modelRules } from "./service.js";
import { manifest } from "./manifest.js";

defineService({ ...modelRules, name: manifest.name, port: portOf(manifest), manifest });
