import { z } from "zod";

/** An HTTP port; 0 picks a free one (tests). */
export const Port = z.number().int().min(0).max(65_535);
