import { defineService } from "@mirror/kit";
import { notifierService } from "./app.js";
import { manifest } from "./manifest.js";

defineService({ ...notifierService(), manifest });
