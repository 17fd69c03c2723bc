import { JetStreamApiCodes, JetStreamApiError } from "@nats-io/jetstream";
import {
  AuthorizationError,
  InvalidArgumentError,
  NoRespondersError,
  PermissionViolationError,
  RequestError as NatsRequestError,
  TimeoutError,
} from "@nats-io/nats-core";

/**
 * NATS and JetStream failures told apart by nats.js's error classes and the server's JetStream API
 * error codes (`err_code` of nats-server's errors.json), never by their message text (which changes
 * between server versions).
 */

/** The JetStream API error codes the bus acts on, beyond those nats.js names. */
export const JS_ERR = {
  ...JetStreamApiCodes,
  /** JSConsumerNameExistErr: "consumer name already in use". */
  ConsumerNameExists: 10013,
  /** JSConsumerExistingActiveErr: "consumer already exists and is still active". */
  ConsumerExistingActive: 10105,
  /** JSConsumerAlreadyExists: a CREATE for an existing consumer with a different config. */
  ConsumerAlreadyExists: 10148,
} as const;

/** The error and each of its causes, outermost first (nats.js wraps e.g. a permission violation in a RequestError). */
function* chain(err: unknown): Generator<unknown> {
  for (
    let e = err, depth = 0;
    e !== undefined && e !== null && depth < 8;
    e = (e as { cause?: unknown }).cause, depth++
  )
    yield e;
}

/** The JetStream API error code (`api_error.err_code`) of a failed JetStream API call, if it is one. */
export function jetStreamApiCode(err: unknown): number | undefined {
  for (const e of chain(err)) if (e instanceof JetStreamApiError) return e.code;
  return undefined;
}

export const isStreamNotFound = (err: unknown): boolean => jetStreamApiCode(err) === JS_ERR.StreamNotFound;
export const isConsumerNotFound = (err: unknown): boolean => jetStreamApiCode(err) === JS_ERR.ConsumerNotFound;

/** Creating a durable that exists with other settings (the server answers one of these by version). */
export function isConsumerExists(err: unknown): boolean {
  const code = jetStreamApiCode(err);
  return (
    code === JS_ERR.ConsumerNameExists ||
    code === JS_ERR.ConsumerExistingActive ||
    code === JS_ERR.ConsumerAlreadyExists
  );
}

/** A request nobody serves: nats.js rejects with a RequestError whose cause is a NoRespondersError. */
export function isNoResponders(err: unknown): boolean {
  for (const e of chain(err))
    if (e instanceof NoRespondersError || (e instanceof NatsRequestError && e.isNoResponders())) return true;
  return false;
}

export function isTimeout(err: unknown): boolean {
  for (const e of chain(err)) if (e instanceof TimeoutError) return true;
  return false;
}

/** The server refused a publish or subscription on a subject (directly or as the cause of a request). */
export function isPermissionViolation(err: unknown): boolean {
  for (const e of chain(err)) if (e instanceof PermissionViolationError) return true;
  return false;
}

/** The server refused the connection's credentials. */
export function isAuthorizationError(err: unknown): boolean {
  for (const e of chain(err)) if (e instanceof AuthorizationError) return true;
  return false;
}

/**
 * nats.js refused to send a message over the server's `max_payload` (an InvalidArgumentError raised
 * before anything is sent); `bytes` is the payload with its headers, as nats.js counts it.
 */
export function isPayloadTooLarge(err: unknown, bytes: number, maxPayload: number | undefined): boolean {
  return err instanceof InvalidArgumentError && maxPayload !== undefined && bytes > maxPayload;
}
