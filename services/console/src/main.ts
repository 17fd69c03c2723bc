import { defineService } from "@mirror/kit";
import { consoleSpec } from "./service.js";
import { manifest } from "./manifest.js";

defineService({ ...consoleSpec(), manifest });
