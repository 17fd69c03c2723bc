import { defineService } from "@mirror/kit";
import { modelOpenAI } from "./service.js";

defineService(modelOpenAI);
