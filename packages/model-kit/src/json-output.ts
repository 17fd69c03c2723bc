/**
 * Finds the JSON object in a model's text reply: the whole text, a ```json fenced block, or the
 * first balanced {...} in prose. Reasoning models' <think> blocks are skipped. Returns undefined
 * when there is none; never throws.
 */
export function extractJson(text: string): unknown {
  const body = text.replace(/<think>[\s\S]*?<\/think>/g, "").trim();
  const direct = tryParse(body);
  if (direct !== undefined) return direct;
  for (const m of body.matchAll(/```(?:json)?\s*\n?([\s\S]*?)```/g)) {
    const fenced = tryParse((m[1] ?? "").trim());
    if (fenced !== undefined) return fenced;
  }
  let from = body.indexOf("{");
  for (let tries = 0; from >= 0 && tries < 20; tries++) {
    const end = balancedEnd(body, from);
    const candidate = end < 0 ? undefined : tryParse(body.slice(from, end + 1));
    if (candidate !== undefined) return candidate;
    from = body.indexOf("{", from + 1);
  }
  return undefined;
}

function tryParse(text: string): unknown {
  if (!text.startsWith("{")) return undefined;
  try {
    const v = JSON.parse(text) as unknown;
    return v && typeof v === "object" && !Array.isArray(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/** Index of the brace closing the one at `start`, skipping braces inside strings; -1 if unbalanced. */
function balancedEnd(text: string, start: number): number {
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      if (ch === "\\") i++;
      else if (ch === '"') inString = false;
    } else if (ch === '"') inString = true;
    else if (ch === "{") depth++;
    else if (ch === "}" && --depth === 0) return i;
  }
  return -1;
}
