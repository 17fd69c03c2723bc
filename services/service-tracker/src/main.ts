import { defineService } from "@mirror/kit";
import { trackerSpec } from "./app.js";

defineService(trackerSpec());
