import { defineService } from "@mirror/kit";
import { consoleSpec } from "./service.js";

defineService(consoleSpec());
