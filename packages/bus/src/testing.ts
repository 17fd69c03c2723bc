/**
 * For tests and the bench only: the NATS client under a Bus, to read the stream, publish garbage
 * or count consumer deliveries the way an outside client would. Services and the CLI use the Bus's
 * named operations (the lint refuses @nats-io imports outside packages/bus).
 */
export { raw, type RawBus } from "./raw.js";
