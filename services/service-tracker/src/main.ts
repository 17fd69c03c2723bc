import { defineService } from "@mirror/kit";
import { trackerSpec } from "./app.js";
import { manifest } from "./manifest.js";

defineService({ ...trackerSpec(), manifest });
