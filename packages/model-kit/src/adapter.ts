import type { AskReply, AskRequest, DigestReply, DigestRequest, TriageReply, TriageRequest } from "@mirror/contracts";
import type { Logger } from "pino";
import type { ChatClient, ChatResult } from "./chat.js";
import { ModelError } from "./errors.js";
import { instrument } from "./instrument.js";
import { extractJson } from "./json-output.js";
import { Limiter } from "./limiter.js";
import type { ModelMetrics } from "./metrics.js";
import { askPrompt, digestPrompt, type Prompt, triagePrompt } from "./prompts.js";
import { capText } from "./untrusted.js";

export interface AdapterLimits {
  timeout: number;
  maxConcurrency: number;
  maxTokens: number;
  maxInputChars: number;
  queueTimeout: number;
}

export interface AdapterDeps {
  client: ChatClient;
  limits: AdapterLimits;
  metrics: ModelMetrics;
  log: Logger;
  now: () => number;
}

interface Attempted {
  value: Record<string, unknown>;
  retried: boolean;
}

/** Leaves the caller time to receive the reply before its own deadline. */
const REPLY_MARGIN_MS = 250;

/** The three model endpoints answered by a chat model: prompt, call, parse, validate, retry once. */
export class ChatAdapter {
  private readonly limiter: Limiter;

  constructor(private deps: AdapterDeps) {
    this.limiter = new Limiter(deps.limits.maxConcurrency, deps.limits.queueTimeout);
  }

  /**
   * Takes a reloaded config: the next call goes to this client with these limits; a call in
   * flight finishes on the client it started with.
   */
  configure(client: ChatClient, limits: AdapterLimits): void {
    this.deps = { ...this.deps, client, limits };
    this.limiter.resize(limits.maxConcurrency, limits.queueTimeout);
  }

  triage(req: TriageRequest): Promise<TriageReply> {
    return this.answer("triage", triagePrompt(req, this.promptOpts()), req.timeoutMs) as Promise<TriageReply>;
  }

  digest(req: DigestRequest): Promise<DigestReply> {
    return this.answer("digest", digestPrompt(req, this.promptOpts()), req.timeoutMs) as Promise<DigestReply>;
  }

  ask(req: AskRequest): Promise<AskReply> {
    return this.answer("ask", askPrompt(req, this.promptOpts()), req.timeoutMs) as Promise<AskReply>;
  }

  private answer(endpoint: string, prompt: Prompt, budgetMs: number | undefined): Promise<Record<string, unknown>> {
    // One request keeps the client and limits it started with, whatever a reload does meanwhile.
    const deps = this.deps;
    const { client, metrics, log } = deps;
    return instrument({ metrics, log, adapter: client.adapter, endpoint }, async () => {
      const out = await this.generate(deps, prompt, budgetMs);
      return { value: { adapter: client.adapter, model: client.model, ...out.value }, retried: out.retried };
    });
  }

  private promptOpts() {
    return { now: this.deps.now(), maxInputChars: this.deps.limits.maxInputChars };
  }

  /** Waits for a slot, then calls the model within one deadline for both attempts. */
  private async generate(deps: AdapterDeps, prompt: Prompt, callerBudgetMs: number | undefined): Promise<Attempted> {
    const started = Date.now();
    const budget = callerBudgetMs === undefined ? Number.POSITIVE_INFINITY : callerBudgetMs - REPLY_MARGIN_MS;
    if (budget <= 0) throw new ModelError("MODEL_TIMEOUT", "the caller's time budget is too small to call a model");
    return this.limiter.run(Math.min(deps.limits.queueTimeout, budget), async () => {
      const ms = Math.min(deps.limits.timeout, budget - (Date.now() - started));
      if (ms <= 0) throw new ModelError("MODEL_TIMEOUT", "the caller's deadline passed while waiting for a model slot");
      const signal = AbortSignal.timeout(ms);
      deps.metrics.inFlight.inc({ adapter: deps.client.adapter });
      try {
        return await this.attempts(deps, prompt, signal, ms);
      } finally {
        deps.metrics.inFlight.dec({ adapter: deps.client.adapter });
      }
    });
  }

  /** First attempt; on output that is not the JSON asked for, one more with the problem stated. */
  private async attempts(deps: AdapterDeps, prompt: Prompt, signal: AbortSignal, ms: number): Promise<Attempted> {
    const first = await this.call(deps, prompt, prompt.user, signal, ms);
    const checked = this.check(prompt, first);
    if (checked.ok) return { value: checked.value, retried: false };
    deps.log.warn({ output: prompt.output.name, problem: checked.problem }, "model output invalid; retrying once");
    const retryUser = `${prompt.user}\n\nA previous answer was rejected: ${checked.problem}. Reply with only the JSON object, exactly in the shape asked for.`;
    const second = this.check(prompt, await this.call(deps, prompt, retryUser, signal, ms));
    if (second.ok) return { value: second.value, retried: true };
    throw new ModelError("MODEL_BAD_OUTPUT", `the model's output was not valid twice: ${second.problem}`);
  }

  private async call(
    deps: AdapterDeps,
    prompt: Prompt,
    user: string,
    signal: AbortSignal,
    ms: number,
  ): Promise<ChatResult> {
    const { client, limits, metrics } = deps;
    try {
      const res = await client.chat({
        system: prompt.system,
        user,
        output: prompt.output,
        maxTokens: limits.maxTokens,
        signal,
      });
      if (res.usage?.input) metrics.tokens.inc({ adapter: client.adapter, direction: "input" }, res.usage.input);
      if (res.usage?.output) metrics.tokens.inc({ adapter: client.adapter, direction: "output" }, res.usage.output);
      return res;
    } catch (err) {
      if (err instanceof ModelError) throw err;
      if (signal.aborted)
        throw new ModelError("MODEL_TIMEOUT", `${client.adapter} did not answer within ${ms}ms`, { cause: err });
      throw new ModelError("MODEL_UNAVAILABLE", `${client.adapter} call failed: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  private check(
    prompt: Prompt,
    res: ChatResult,
  ): { ok: true; value: Record<string, unknown> } | { ok: false; problem: string } {
    const candidate = res.structured ?? extractJson(res.text);
    const cut = res.truncated ? " (the reply was cut at the token limit)" : "";
    if (candidate === undefined)
      return { ok: false, problem: `no JSON object in the reply${cut}: ${JSON.stringify(capText(res.text, 120))}` };
    const parsed = prompt.output.parse.safeParse(candidate);
    if (parsed.success) return { ok: true, value: parsed.data as Record<string, unknown> };
    const issues = parsed.error.issues.slice(0, 5).map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`);
    return { ok: false, problem: `wrong shape${cut}: ${issues.join("; ")}` };
  }
}
