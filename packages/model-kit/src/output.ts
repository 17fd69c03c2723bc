import { Severity } from "@mirror/contracts";
import { z } from "zod";

/** What the model must produce for one endpoint: a JSON Schema for the wire and zod to check it. */
export interface OutputSpec<T = unknown> {
  /** Name of the schema (OpenAI `json_schema.name`, Anthropic tool name): [a-zA-Z0-9_-]{1,64}. */
  name: string;
  description: string;
  /** JSON Schema in the subset strict structured outputs accept: every property required, no extras. */
  schema: Record<string, unknown>;
  parse: z.ZodType<T>;
}

/** Model text is shown to the owner: one trimmed string, capped, control characters removed. */
const shown = (max: number) =>
  z
    .string()
    .transform((s) => s.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, "").trim())
    .pipe(z.string().min(1, "must not be empty"))
    .transform((s) => (s.length > max ? `${s.slice(0, max - 1)}…` : s));

const strictObject = (properties: Record<string, unknown>) => ({
  type: "object",
  properties,
  required: Object.keys(properties),
  additionalProperties: false,
});

export const triageOutput: OutputSpec<{ severity: Severity; summary: string; nextAction: string }> = {
  name: "loop_triage",
  description: "Severity, one-sentence summary and the next concrete action for one open loop",
  schema: strictObject({
    severity: { type: "string", enum: Severity.options, description: "How urgent it is for the owner" },
    summary: { type: "string", description: "One sentence: what is open, where, since when" },
    nextAction: { type: "string", description: "One concrete next step, with the command if there is one" },
  }),
  parse: z.object({
    severity: z.string().trim().toLowerCase().pipe(Severity),
    summary: shown(600),
    nextAction: shown(600),
  }),
};

export const digestOutput: OutputSpec<{ title: string; text: string }> = {
  name: "loops_digest",
  description: "A short digest of the owner's open loops",
  schema: strictObject({
    title: { type: "string", description: "One line, e.g. '5 open loops, 1 high'" },
    text: { type: "string", description: "The digest: most urgent first, one line per item or group" },
  }),
  parse: z.object({ title: shown(200), text: shown(8_000) }),
};

export const askOutput: OutputSpec<{ answer: string }> = {
  name: "mesh_answer",
  description: "The answer to the owner's question about their repositories and services",
  schema: strictObject({
    answer: { type: "string", description: "A short, direct answer grounded only in the data given" },
  }),
  parse: z.object({ answer: shown(8_000) }),
};
