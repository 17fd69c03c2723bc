import { createHash, timingSafeEqual } from "node:crypto";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";

declare module "fastify" {
  interface FastifyContextConfig {
    /** This route changes state: it needs the bearer token when `http.token` is set (default: any method but GET/HEAD/OPTIONS). */
    mutates?: boolean;
    /** Always open, even with `http.tokenForReads` (/healthz, /readyz). */
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

/**
 * With `http.token`, refuses (401) a request that changes state without `Authorization: Bearer
 * <token>`; reads stay open unless `http.tokenForReads`. Routes opt in or out with
 * `{ config: { mutates: true } }` / `{ config: { public: true } }`.
 */
export function addTokenAuth(app: FastifyInstance, opts: HttpAuthOptions, onRefused?: (req: FastifyRequest) => void): void {
  const token = opts.token;
  if (!token) return;
  app.addHook("onRequest", async (req: FastifyRequest, reply: FastifyReply) => {
    if (!needsToken(req, opts.tokenForReads === true)) return;
    if (bearerMatches(req.headers.authorization, token)) return;
    onRefused?.(req);
    return reply
      .code(401)
      .header("www-authenticate", 'Bearer realm="mirror"')
      .send({ error: { code: "MIRROR_ERR_UNAUTHORIZED", message: req.headers.authorization ? "the bearer token is wrong" : "this endpoint needs Authorization: Bearer <http.token>" } });
  });
}
