import { z } from "zod";
import { Port } from "./port.js";

export const ModelConfig = z
  .strictObject({
    port: Port.default(9105),
    adapter: z.string().default("rules"),
  })
  .passthrough()
  .prefault({});
