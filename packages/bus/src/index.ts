export { Bus, type BusOptions, type PublishOptions } from "./bus.js";
export { Consumer, type ConsumeOptions, type Handler, type MessageContext } from "./consume.js";
export { Watch, type WatchContext, type WatchHandler, type WatchOptions } from "./watch.js";
export { endpoint, isReplyInbox, type EndpointHandler, type RegisteredService } from "./service.js";
export {
  BusError,
  ValidationError,
  RetryableError,
  PoisonError,
  PublishError,
  RequestError,
  SigningKeyError,
  describeZodError,
} from "./errors.js";
export { BusMetrics, subjectFamily } from "./metrics.js";
export { traceCarrier, withTraceContext, withConsumerSpan } from "./tracing.js";
export {
  signingBytes,
  nkeySigner,
  publicKeyObject,
  signHeaders,
  KeyringVerifier,
  type KeyringOptions,
  type Signer,
  type SignedEvent,
  type Verdict,
  type Verifier,
} from "./signing.js";
export { ed25519, nodeEd25519, sodiumAddonFile, type Ed25519 } from "./ed25519.js";
export {
  BUILT_IN_IDENTITIES,
  identitiesOf,
  identityNamed,
  inboxPrefixOf,
  dlqSubjectOf,
  requestsOf,
  type IdentitySpec,
  type DurableSpec,
} from "./identities.js";
export { permissionsOf, mayPublishEvent, eventSubjectsOf, type NatsPermissions } from "./permissions.js";
export { subjectMatches, subjectsOverlap, subjectWithin } from "./subjects.js";
export { Declared, UndeclaredError, type BusManifest } from "./declared.js";
export type { BusCore } from "./core.js";
export {
  consumerConfig,
  createOrUpdateDurable,
  bindDurable,
  isPermissionError,
  DURABLE_DEFAULTS,
  type DurableSettings,
} from "./durable.js";
export { isJetStreamStarting, provision, provisionWhenReady, type ProvisionResult } from "./provision.js";
export type { StoredEvent } from "./history.js";
export { type BusAuth, createUserKey, nkeyAuth, publicKeyOfSeed, refusesAnonymous } from "./credentials.js";
export { serverList } from "./servers.js";
export { ensureKvReplicas, ensureStreams, streamOptionsOf, type StreamOptions } from "./streams.js";
