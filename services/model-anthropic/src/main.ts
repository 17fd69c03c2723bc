import { defineService } from "@mirror/kit";
import { modelAnthropic } from "./service.js";

defineService(modelAnthropic);
