import { z } from "zod";
import { duration } from "../duration.js";

export const BusConfig = z
  .strictObject({
    url: z.string().default("nats://127.0.0.1:4222"),
    /**
     * Folder made by `pnpm mirror identity init --out DIR`: `<service>.nk` seeds, `public-keys.json`
     * and `nats-server.conf`. `MIRROR_IDENTITY_DIR` overrides it. Without one, services connect
     * anonymously and do not sign.
     */
    identityDir: z.string().min(1).optional(),
    /** Path of this service's seed file; overrides `<identityDir>/<service>.nk`. */
    credentials: z.string().optional(),
    /**
     * Dead-letter (reason `signature`) every consumed event that is unsigned or not signed by the
     * key of the identity named in its `ce-source`. Default: true when an identity folder is set.
     */
    requireSignatures: z.boolean().optional(),
    stream: z.strictObject({
      maxAge: duration("30d"),
      maxBytes: z.number().int().positive().default(1024 * 1024 * 1024),
      duplicateWindow: duration("2m"),
    }).prefault({}),
  })
  .prefault({});

export const StoreConfig = z
  .strictObject({
    url: z.string().default("redis://127.0.0.1:6379"),
    /**
     * `identity`: each service logs in to Redis as its own ACL user (its name, a password derived
     * from its nkey seed), limited to its key prefix; the users come from `pnpm mirror identity
     * init` (`users.acl`). `url` (the default when unset): whatever `url` says. `MIRROR_REDIS_AUTH`
     * overrides it; `pnpm start` sets it when the Redis it uses knows the identities.
     */
    auth: z.enum(["url", "identity"]).optional(),
  })
  .prefault({});

/**
 * `http`: every service's HTTP port. With `token`, requests that change state (any method but
 * GET/HEAD/OPTIONS, or a route with `config: { mutates: true }`) need `Authorization: Bearer <token>`;
 * reads need it too when `tokenForReads` is true. /healthz and /readyz stay open.
 */
export const HttpConfig = z
  .strictObject({
    /** Use `${ENV}` or `{ secretFile: PATH }`; never logged or returned. */
    token: z.string().min(8, "http.token must be at least 8 characters").optional(),
    tokenForReads: z.boolean().default(false),
  })
  .prefault({});
export type HttpConfig = z.infer<typeof HttpConfig>;
