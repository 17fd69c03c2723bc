export {
  collectSpecs,
  defineService,
  isConfigFailure,
  runService,
  redactUrl,
  type ServiceSpec,
  type ServiceContext,
  type Started,
  type RunOptions,
  type RunningService,
  type RouteAuth,
} from "./service.js";
export { loadConfig, parseConfig, configPath, configSecrets, ConfigError } from "./config.js";
export { ConfigReloader, changedPaths, type ReloadDeps } from "./reload.js";
export { watchConfig, type ConfigWatch, type ConfigWatchHost, type ConfigWatchOptions } from "./watch-config.js";
export { addLogSecrets, createLogger, REDACT_PATHS, type LoggerOptions } from "./logger.js";
export { collectSecrets, secretScrubber } from "./secrets.js";
export { addTokenAuth, bearerMatches, requestAuthorized, refuse, type HttpAuthOptions } from "./http-auth.js";
export {
  dataDir,
  httpTokenPath,
  readHttpToken,
  ensureHttpToken,
  resolveHttpCredential,
  isLoopback,
  HttpTokenError,
  UnprotectedListenError,
  HTTP_TOKEN_FILE,
  type HttpCredential,
} from "./http-token.js";
export { connectBus, type ConnectOptions } from "./connect.js";
export { defineLua, rawLua, runLua, runLuaFlat, type LuaScript } from "./lua.js";
export { createStore, sentinelTargetOf, type SentinelTarget } from "./store.js";
export { ownUrlWithOffset, portOffset, withPortOffset } from "./port-offset.js";
export {
  aclHasDefaultOff,
  aclUserLine,
  defaultUserAclLine,
  type StoreLogin,
  storeAuthMode,
  storeLogin,
  storePassword,
} from "./store-auth.js";
export { buildHttp, replyError } from "./http.js";
export { type Clock, systemClock, ManualClock, TIMER_SLACK_MS } from "./clock.js";
export {
  loadIdentity,
  loadServiceIdentity,
  credentialPath,
  identityDir,
  readPublicKeys,
  readIdentityTable,
  IdentityError,
  PUBLIC_KEYS_FILE,
  IDENTITIES_FILE,
  type Identity,
} from "./identity.js";
export {
  setupTracing,
  startTracing,
  tracingRequested,
  traceFields,
  type Tracing,
  type TracingOptions,
} from "./tracing.js";
export { runTogether, type MemberState, type TogetherOptions } from "./together.js";
export {
  Partition,
  PartitionView,
  ownerOf,
  leaseFor,
  monotonicClock,
  pauseWhenBusStalls,
  type PartitionOptions,
  type RenewResult,
  type ViewChange,
} from "./partition.js";
export { portOf } from "./manifest-port.js";
export {
  ConfigPeers,
  configDigest,
  configSectionOf,
  differingKeys,
  sectionAt,
  withRunningPaths,
  type ConfigDigest,
  type ConfigMismatch,
  type ConfigPeersOptions,
} from "./config-peers.js";
export { serverClock, type ServerClock } from "./server-clock.js";
