import { defineService } from "@mirror/kit";
import { loopDetectorSpec } from "./app.js";

defineService(loopDetectorSpec());
