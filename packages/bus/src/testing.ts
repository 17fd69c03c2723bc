/**
 * For tests and the bench only: the NATS client under a Bus, to read the stream, publish garbage
 * or count consumer deliveries the way an outside client would. Services and the CLI use the Bus's
 * named operations (the lint refuses @nats-io imports outside packages/bus).
 */
export { raw, type RawBus } from "./raw.js";
export {
  isAuthorizationError,
  isConsumerExists,
  isConsumerNotFound,
  isNoResponders,
  isPayloadTooLarge,
  isPermissionViolation,
  isStreamNotFound,
  isTimeout,
  jetStreamApiCode,
  JS_ERR,
} from "./nats-errors.js";
