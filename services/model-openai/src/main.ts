import { defineService, portOf } from "@mirror/kit";
import { modelOpenAI } from "./service.js";
import { manifest } from "./manifest.js";

defineService({ ...modelOpenAI, name: manifest.name, port: portOf(manifest), manifest });
