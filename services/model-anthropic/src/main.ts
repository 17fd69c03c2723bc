import { defineService, portOf } from "@mirror/kit";
import { modelAnthropic } from "./service.js";
import { manifest } from "./manifest.js";

defineService({ ...modelAnthropic, name: manifest.name, port: portOf(manifest), manifest });
