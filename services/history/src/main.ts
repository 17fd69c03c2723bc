import { defineService } from "@mirror/kit";
import { historySpec } from "./app.js";
import { manifest } from "./manifest.js";

defineService({ ...historySpec(), manifest });
