import { z } from "zod";
import { duration } from "../duration.js";

export const BusConfig = z
  .strictObject({
    /**
     * NATS server URL, or a comma-separated list of the nodes of a cluster
     * (`nats://a:4222,nats://b:4222,nats://c:4222`): the client connects to one and moves to
     * another within seconds when it goes. `MIRROR_NATS_URL` overrides it.
     */
    url: z
      .string()
      .default("nats://127.0.0.1:4222")
      .refine(
        (v) => v.split(",").every((s) => s.trim().length > 0),
        "bus.url: a comma-separated list of server URLs, none of them empty",
      ),
    /**
     * Replicas of the MIRROR and MIRROR_DLQ streams and of every KV bucket (1 on one server; 3 on a
     * 3-node cluster, so any one node may die). Provisioning creates them with it and raises or
     * lowers the count of existing ones.
     */
    replicas: z.number().int().min(1).max(5).default(1),
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
    stream: z
      .strictObject({
        maxAge: duration("30d"),
        maxBytes: z
          .number()
          .int()
          .positive()
          .default(1024 * 1024 * 1024),
        duplicateWindow: duration("2m"),
      })
      .prefault({}),
  })
  .prefault({});

export const StoreConfig = z
  .strictObject({
    /** Redis URL (`MIRROR_REDIS_URL` overrides it); its user and password are used, its host ignored when `sentinels` is set. */
    url: z.string().default("redis://127.0.0.1:6379"),
    /**
     * Redis Sentinel: `host:port` of each sentinel. The store asks them for the master of `name` and
     * follows a failover to the promoted replica. The sentinels themselves take no password (set
     * `sentinelPassword` if yours do); the master takes the service's login as always.
     */
    sentinels: z
      .array(z.string().regex(/^(\[[0-9a-fA-F:]+\]|[^\s:]+):\d{1,5}$/, "host:port"))
      .min(1)
      .optional(),
    /** The master group name the sentinels monitor (`sentinel monitor <name> ...`). */
    name: z.string().min(1).default("mirror"),
    /** The sentinels' own password (`requirepass` in sentinel.conf), when they have one. */
    sentinelPassword: z.string().optional(),
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
