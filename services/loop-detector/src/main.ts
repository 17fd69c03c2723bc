import { defineService } from "@mirror/kit";
import { loopDetector } from "./app.js";

defineService(loopDetector);
