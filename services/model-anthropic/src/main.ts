import { defineService } from "@mirror/kit";
import { modelAnthropic } from "./service.js";
import { manifest } from "./manifest.js";

defineService({ ...modelAnthropic, manifest });
