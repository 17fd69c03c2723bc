import { endpoint, type EndpointHandler } from "@mirror/bus";
import {
  type AskReply,
  type AskRequest,
  type DigestReply,
  type DigestRequest,
  modelAsk,
  modelDigest,
  modelTriage,
  type TriageReply,
  type TriageRequest,
} from "@mirror/contracts";

/** Anything that answers the three model endpoints: the rules, a chat model. */
export interface ModelAnswerer {
  triage(req: TriageRequest): Promise<TriageReply>;
  digest(req: DigestRequest): Promise<DigestReply>;
  ask(req: AskRequest): Promise<AskReply>;
}

/** The Services API endpoints of "mirror-model"; the bus kit validates requests and replies. */
export function modelEndpoints(answerer: ModelAnswerer): EndpointHandler[] {
  return [
    endpoint(modelTriage, (req) => answerer.triage(req)),
    endpoint(modelDigest, (req) => answerer.digest(req)),
    endpoint(modelAsk, (req) => answerer.ask(req)),
  ];
}
