import { defineService } from "@mirror/kit";
import { modelOpenAI } from "./service.js";
import { manifest } from "./manifest.js";

defineService({ ...modelOpenAI, manifest });
