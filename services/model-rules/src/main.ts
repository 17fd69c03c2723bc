import { defineService } from "@mirror/kit";
import { modelRules } from "./service.js";
import { manifest } from "./manifest.js";

defineService({ ...modelRules, manifest });
