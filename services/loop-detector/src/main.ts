import { defineService } from "@mirror/kit";
import { loopDetectorSpec } from "./app.js";
import { manifest } from "./manifest.js";

defineService({ ...loopDetectorSpec(), manifest });
