import { defineService } from "@mirror/kit";
import { modelRules } from "./service.js";

defineService(modelRules);
