import { defineService, portOf } from "@mirror/kit";
import { notifierService } from "./app.js";
import { manifest } from "./manifest.js";

defineService({ ...notifierService(), name: manifest.name, port: portOf(manifest), manifest });
