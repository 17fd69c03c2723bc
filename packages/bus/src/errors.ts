import { type ErrorCode, errorSpec, formatErrorMessage, MirrorError, type RemoteErrorCode } from "@mirror/contracts";

/**
 * Base of every bus error, built from the registry (packages/contracts/src/errors.ts): a stable code,
 * its status, whether a retry may help, and the cause.
 */
export class BusError extends MirrorError {
  override name = "BusError";
  constructor(code: ErrorCode, message: string, opts: { cause?: unknown } = {}) {
    super(code, message, { cause: opts.cause });
  }
}

/** A bus error whose message is the registry's template for `code` filled with `args` (fastify's createError). */
export function busError(code: ErrorCode, args: readonly unknown[], opts: { cause?: unknown } = {}): BusError {
  return new BusError(code, formatErrorMessage(errorSpec(code).message, args), opts);
}

/** Data did not match its contract's schema (on publish or on receive). */
export class ValidationError extends BusError {
  override name = "ValidationError";
  constructor(message: string, cause?: unknown) {
    super("MIRROR_ERR_VALIDATION", message, { cause });
  }
}

/** A handler asks for the message again later (e.g. a dependency is down). */
export class RetryableError extends BusError {
  override name = "RetryableError";
  readonly delayMs: number | undefined;
  constructor(message: string, opts: { delayMs?: number; cause?: unknown } = {}) {
    super("MIRROR_ERR_RETRYABLE", message, { cause: opts.cause });
    this.delayMs = opts.delayMs;
  }
}

/** A handler says this message can never be handled: it is dead-lettered. */
export class PoisonError extends BusError {
  override name = "PoisonError";
  constructor(message: string, cause?: unknown) {
    super("MIRROR_ERR_POISON", message, { cause });
  }
}

/** A JetStream publish was not acknowledged before its deadline. */
export class PublishError extends BusError {
  override name = "PublishError";
  constructor(message: string, cause?: unknown) {
    super("MIRROR_ERR_PUBLISH", message, { cause });
  }
}

/** A request/reply call failed: no responder, timeout, a remote error (`MIRROR_ERR_REMOTE_<status>`), or an invalid reply. */
export class RequestError extends BusError {
  override name = "RequestError";
  constructor(
    code: "MIRROR_ERR_TIMEOUT" | "MIRROR_ERR_NO_RESPONDERS" | "MIRROR_ERR_BAD_REPLY" | RemoteErrorCode,
    message: string,
    cause?: unknown,
  ) {
    super(code, message, { cause });
  }
}

/**
 * A signing key that cannot be used: a key file that is not an nkey user seed, or a public key
 * in the keyring that does not decode. Names the identity; thrown when the signer or the
 * verifier is built, never while handling a message.
 */
export class SigningKeyError extends BusError {
  override name = "SigningKeyError";
  readonly identity: string;
  constructor(identity: string, message: string, cause?: unknown) {
    super("MIRROR_ERR_SIGNING_KEY", message, { cause });
    this.identity = identity;
  }
}

export function describeZodError(err: unknown): string {
  const issues = (err as { issues?: { path: PropertyKey[]; message: string }[] }).issues;
  if (!issues) return String((err as Error)?.message ?? err);
  return issues
    .slice(0, 10)
    .map((i) => `${i.path.length ? i.path.map(String).join(".") : "(root)"}: ${i.message}`)
    .join("; ");
}
