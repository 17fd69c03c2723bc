export { Bus, signingBytes, type BusOptions, type PublishOptions } from "./bus.js";
export { Consumer, type ConsumeOptions, type Handler, type MessageContext } from "./consume.js";
export { endpoint, type EndpointHandler, type RegisteredService } from "./service.js";
export { BusError, ValidationError, RetryableError, PoisonError, PublishError, RequestError, describeZodError } from "./errors.js";
export { BusMetrics, subjectFamily } from "./metrics.js";
export type { Signer, Verifier } from "./signing.js";
