import { z } from "zod";

/**
 * One public status page (`console.statusPages`): served without login at `/status/<slug>` and
 * `/status/<slug>.json`, showing only the listed checks' state, uptime, daily bars and (when
 * `showIncidents`) incident times; never URLs, hosts, errors or evidence. Its checks also get
 * badges at `/badge/<check>/...`. Read by: console.
 */
export const StatusPage = z.strictObject({
  slug: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, "lower-case letters, digits and dashes (e.g. home)")
    .describe("The page's address: `/status/<slug>` and `/status/<slug>.json`."),
  title: z.string().min(1).max(200).describe("The page's heading."),
  checks: z
    .array(z.string().min(1).max(256))
    .min(1)
    .max(200)
    .describe("Check names shown, in this order; only these get badges (`/badge/<check>/...`)."),
  showIncidents: z.boolean().default(true).describe("List incident times (start, end, duration; never errors)."),
});
export type StatusPage = z.infer<typeof StatusPage>;

export const StatusPages = z
  .array(StatusPage)
  .max(50)
  .refine((pages) => new Set(pages.map((p) => p.slug)).size === pages.length, "two status pages have the same slug")
  .default([]);
