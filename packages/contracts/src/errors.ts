/**
 * The one registry of the mesh's error codes (fastify's `createError` is the model): each code is
 * defined here once with its HTTP status, whether a retry may help, and its message template.
 * Services throw errors built from it; docs/ERRORS.md lists every code and a test keeps the two in
 * step. The codes and statuses are public interface (the CLI, the console and clients match on them).
 *
 * `status` is what an HTTP route or a Services API reply answers with when the error reaches it. For
 * the bus kit's own errors that is 400 when a retry cannot help and 500 when it may (how a reply has
 * always carried them). `%s` in a template is filled by the arguments, in order.
 */
export interface ErrorSpec {
  readonly status: number;
  readonly retryable: boolean;
  readonly message: string;
}

const spec = (status: number, retryable: boolean, message = "%s"): ErrorSpec => ({ status, retryable, message });

export const ERRORS = {
  // The bus kit (packages/bus)
  MIRROR_ERR_VALIDATION: spec(400, false),
  MIRROR_ERR_RETRYABLE: spec(500, true),
  MIRROR_ERR_POISON: spec(400, false),
  MIRROR_ERR_PUBLISH: spec(500, true),
  MIRROR_ERR_TIMEOUT: spec(500, true),
  MIRROR_ERR_NO_RESPONDERS: spec(500, true),
  MIRROR_ERR_BAD_REPLY: spec(500, true),
  MIRROR_ERR_SIGNING_KEY: spec(400, false),
  MIRROR_ERR_AUTH: spec(400, false, 'NATS refused the connection of "%s" (authorization violation): %s'),
  MIRROR_ERR_PERMISSION: spec(400, false, '"%s" may not publish on %s: the server refused it (permissions violation)'),
  MIRROR_ERR_TOO_LARGE: spec(400, false, "%s (id %s): %s bytes exceed the server's max_payload"),
  MIRROR_ERR_NO_CONSUMER: spec(500, true),
  MIRROR_ERR_UNDECLARED: spec(400, false),
  // The service kit (packages/kit) and contracts
  MIRROR_ERR_CONFIG: spec(500, false),
  MIRROR_ERR_MANIFEST: spec(500, false),
  MIRROR_ERR_IDENTITY: spec(500, false),
  MIRROR_ERR_HTTP_TOKEN: spec(500, false),
  MIRROR_ERR_UNPROTECTED_LISTEN: spec(500, false),
  MIRROR_ERR_UNAUTHORIZED: spec(401, false),
  MIRROR_ERR_HTTP: spec(500, false),
  MIRROR_ERR_DURATION: spec(400, false),
  // Shared by several services' HTTP routes and endpoints
  MIRROR_ERR_NOT_FOUND: spec(404, false),
  MIRROR_ERR_NOT_READY: spec(503, true),
  MIRROR_ERR_BAD_REQUEST: spec(400, false),
  // scanner
  MIRROR_ERR_GIT: spec(500, false),
  MIRROR_ERR_PORCELAIN: spec(500, false),
  MIRROR_ERR_OUTSIDE_ROOTS: spec(403, false),
  MIRROR_ERR_NOT_A_REPO: spec(400, false),
  // service-tracker
  MIRROR_ERR_CONDITION: spec(400, false),
  MIRROR_ERR_SCHEDULE: spec(400, false),
  MIRROR_ERR_UNKNOWN_HEARTBEAT: spec(404, false),
  // loop-detector
  MIRROR_ERR_LOOP_NOT_FOUND: spec(404, false, 'no loop with id "%s"'),
  MIRROR_ERR_LOOP_STATE: spec(409, false),
  MIRROR_ERR_LOOP_CONFLICT: spec(500, true),
  MIRROR_ERR_MAINTENANCE_NOT_FOUND: spec(404, false),
  MIRROR_ERR_CRON: spec(400, false),
  // notifier
  MIRROR_ERR_TEMPLATE: spec(400, false),
  MIRROR_ERR_MATCHER: spec(400, false),
  // history
  MIRROR_ERR_HISTORY_REQUEST: spec(400, false),
  // console
  MIRROR_ERR_STARTING: spec(503, true, "the console is starting"),
  MIRROR_ERR_UNAUTHENTICATED: spec(401, false, "log in first (POST /login)"),
  MIRROR_ERR_FORBIDDEN: spec(403, false),
  MIRROR_ERR_LOGIN: spec(401, false),
  MIRROR_ERR_RATE_LIMITED: spec(429, true),
  MIRROR_ERR_BAD_INPUT: spec(400, false),
  MIRROR_ERR_UNREACHABLE: spec(503, true),
  MIRROR_ERR_USER_EXISTS: spec(409, false),
  MIRROR_ERR_NO_USER: spec(404, false, "no user %s"),
  MIRROR_ERR_TOKEN_EXISTS: spec(409, false),
  MIRROR_ERR_NO_TOKEN: spec(404, false),
  // Model adapters (packages/model-kit): the reply's message starts with `[CODE]`
  MODEL_BUSY: spec(503, true),
  MODEL_UNAVAILABLE: spec(503, true),
  MODEL_TIMEOUT: spec(504, true),
  MODEL_HTTP_ERROR: spec(502, true),
  MODEL_BAD_OUTPUT: spec(502, true),
} as const satisfies Record<string, ErrorSpec>;

/** A code defined in the registry. */
export type RegisteredErrorCode = keyof typeof ERRORS;

/** The family of a request answered with a Services API error: `MIRROR_ERR_REMOTE_<the remote's status>`. */
export type RemoteErrorCode = `MIRROR_ERR_REMOTE_${number}`;
export const REMOTE_ERROR_PREFIX = "MIRROR_ERR_REMOTE_";

export type ErrorCode = RegisteredErrorCode | RemoteErrorCode;

/** The code of a remote error reply with this status (the Services API error code header). */
export function remoteErrorCode(status: number | string): RemoteErrorCode {
  return `${REMOTE_ERROR_PREFIX}${Number(status) || 500}` as RemoteErrorCode;
}

/** The remote's status in a `MIRROR_ERR_REMOTE_<status>` code, or undefined for any other code. */
export function remoteStatusOf(code: string | undefined): number | undefined {
  if (!code?.startsWith(REMOTE_ERROR_PREFIX)) return undefined;
  const n = Number(code.slice(REMOTE_ERROR_PREFIX.length));
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

/**
 * The spec of a code. A remote 400 cannot succeed on retry and answers 400 when passed on; any other
 * remote failure may, and answers 500 (the console passes a remote 4xx on with its own status).
 */
export function errorSpec(code: ErrorCode): ErrorSpec {
  const remote = remoteStatusOf(code);
  if (remote !== undefined) return remote === 400 ? spec(400, false) : spec(500, true);
  const s = (ERRORS as Record<string, ErrorSpec>)[code];
  if (!s)
    throw new TypeError(`unknown error code ${code}: add it to packages/contracts/src/errors.ts and docs/ERRORS.md`);
  return s;
}

/** Fills each `%s` of a template with the next argument (missing ones stay `%s`). */
export function formatErrorMessage(template: string, args: readonly unknown[]): string {
  let i = 0;
  return template.replace(/%s/g, (m) => (i < args.length ? String(args[i++]) : m));
}

export interface MirrorErrorOptions {
  cause?: unknown;
  /** Another status than the registry's, for a code whose status is the caller's to pass on. */
  status?: number;
}

/** An error of the registry: a stable `code`, its HTTP `status`, whether a retry may help, and the cause. */
export class MirrorError extends Error {
  override name = "MirrorError";
  readonly code: ErrorCode;
  readonly status: number;
  readonly retryable: boolean;
  constructor(code: ErrorCode, message: string, opts: MirrorErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    const s = errorSpec(code);
    this.code = code;
    this.status = opts.status ?? s.status;
    this.retryable = s.retryable;
  }
}

/** An error of `code` whose message is the registry's template filled with `args`. */
export function mirrorError(
  code: ErrorCode,
  args: readonly unknown[] = [],
  opts: MirrorErrorOptions = {},
): MirrorError {
  return new MirrorError(code, formatErrorMessage(errorSpec(code).message, args), opts);
}

/** The registry code of an error (or anything with a string `code`), else undefined. */
export function errorCodeOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === "string" ? code : undefined;
}

/** True when `err` carries the code (built from the registry or passed through JSON). */
export function hasErrorCode(err: unknown, code: ErrorCode): boolean {
  return errorCodeOf(err) === code;
}

/** The JSON body an HTTP route answers an error with: `{ error: { code, message } }`. */
export function errorBody(code: ErrorCode, message: string): { error: { code: ErrorCode; message: string } } {
  return { error: { code, message } };
}
