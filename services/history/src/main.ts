import { defineService } from "@mirror/kit";
import { historySpec } from "./app.js";

defineService(historySpec());
