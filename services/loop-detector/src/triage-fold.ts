import type { Loop, TriageReply } from "@mirror/contracts";
import type { Mutation } from "./state.js";

/**
 * What the engine needs to fold a loop's triage into its opening (the Triager provides it):
 * under load one `opened` event carries the model's answer, instead of `opened` now and
 * `updated` once the answer is stored: one JetStream publish, a delivery and an ack to every
 * consumer of loop events, and a commit fewer per loop.
 */
export interface TriageFolding {
  /** Other loops' triage is being asked or waits to be: openings come faster than answers, one is not alone. */
  busy(): boolean;
  /** Asks now if the model has a free slot and answered fast lately; undefined otherwise. */
  askNow(loop: Loop): Promise<TriageReply> | undefined;
  /** `m` with the answer written into the loop it opens. */
  fold(m: Mutation, loop: Loop, reply: TriageReply): Mutation;
  /** An opening was stored with its answer folded in. */
  folded(): void;
  /** An opening went out before its answer: the answer is stored (as `updated`) when it comes. */
  follow(loop: Loop, reply: Promise<TriageReply>): void;
}

/**
 * How long an opening waits for its answer at most. Only openings made while other inputs wait
 * in the consumer are folded, so the wait hides behind the queue; a model that is slower (an LLM)
 * answers later as `updated`, from the same request.
 */
export const FOLD_WAIT_MS = 50;

/** The answer if it comes within `ms`; undefined on a timeout or an error (follow() sees the error). */
function within<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  return Promise.race([p.catch(() => undefined), late]).finally(() => clearTimeout(timer));
}

/**
 * Asks about each loop `m` opens (once per loop across retries of one mutation: `asked`) and
 * folds the answers that come within FOLD_WAIT_MS. Returns the mutation and the loops folded.
 */
export async function foldTriage(
  m: Mutation,
  folding: TriageFolding,
  asked: Map<string, Promise<TriageReply>>,
): Promise<{ m: Mutation; folded: Set<string> }> {
  const folded = new Set<string>();
  for (const c of m.changes) {
    if (c.event !== "opened" || c.loop.triage) continue;
    let reply = asked.get(c.loop.id);
    if (!reply) {
      reply = folding.askNow(c.loop);
      if (!reply) continue;
      asked.set(c.loop.id, reply);
    }
    const answer = await within(reply, FOLD_WAIT_MS);
    if (!answer) continue;
    m = folding.fold(m, c.loop, answer);
    folded.add(c.loop.id);
  }
  return { m, folded };
}
