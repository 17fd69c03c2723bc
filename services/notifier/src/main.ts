import { defineService } from "@mirror/kit";
import { notifierService } from "./app.js";

defineService(notifierService());
