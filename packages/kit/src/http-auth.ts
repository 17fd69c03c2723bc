import { createHash, timingSafeEqual } from "node:crypto";
import { errorBody } from "@mirror/contracts";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";

declare module "fastify" {
  interface FastifyContextConfig {
    /** This route changes state: it needs the bearer token (default: any method but GET/HEAD/OPTIONS). */
    mutates?: boolean;
    /** Never checked by the hook, even with `http.tokenForReads` (/healthz, /readyz; /ping checks its own key). */
    public?: boolean;
  }
}

export interface HttpAuthOptions {
  token?: string;
  tokenForReads?: boolean;
}

const READ_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);
const digest = (s: string) => createHash("sha256").update(s).digest();

/** Whether the request must carry the token: state changes always, reads with `tokenForReads`. */
export function needsToken(req: FastifyRequest, tokenForReads: boolean): boolean {
  const cfg = (req.routeOptions?.config ?? {}) as { mutates?: boolean; public?: boolean };
  if (cfg.public) return false;
  const mutates = cfg.mutates ?? !READ_METHODS.has(req.method);
  return mutates || tokenForReads;
}

/** Compares in constant time (over digests, so the length leaks nothing either). */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "");
  return !!m?.[1] && timingSafeEqual(digest(m[1]), digest(token));
}

/** Whether the request carries the token (always false with no token: nothing matches nothing). */
export function requestAuthorized(req: FastifyRequest, token: string | undefined): boolean {
  return !!token && bearerMatches(req.headers.authorization, token);
}

/** Answers 401 with the `www-authenticate` challenge and a message saying what is missing. */
export function refuse(reply: FastifyReply, hasHeader: boolean, tokenKnown: boolean): FastifyReply {
  const message = !tokenKnown
    ? "this service has no HTTP token, so it accepts no state change over HTTP"
    : hasHeader
      ? "the bearer token is wrong"
      : "this endpoint needs Authorization: Bearer <token> (http.token, or the http-token file in the data folder)";
  return reply
    .code(401)
    .header("www-authenticate", 'Bearer realm="mirror"')
    .send(errorBody("MIRROR_ERR_UNAUTHORIZED", message));
}

/**
 * Refuses (401) a request that changes state without `Authorization: Bearer <token>`; reads stay
 * open unless `http.tokenForReads`. With no token at all, every state change is refused (fail
 * closed). Routes opt in or out with `{ config: { mutates: true } }` / `{ config: { public: true } }`.
 */
export function addTokenAuth(
  app: FastifyInstance,
  opts: HttpAuthOptions,
  onRefused?: (req: FastifyRequest) => void,
): void {
  const token = opts.token;
  app.addHook("onRequest", async (req: FastifyRequest, reply: FastifyReply) => {
    if (!needsToken(req, opts.tokenForReads === true)) return;
    if (requestAuthorized(req, token)) return;
    onRefused?.(req);
    return refuse(reply, !!req.headers.authorization, !!token);
  });
}
