export { parseDuration, formatDuration, Duration, duration, DurationError } from "./duration.js";
export { stableHash, repoKey, entityKey, loopId, subjectToken } from "./ids.js";
export { defineEvent, defineEndpoint, type EventContract, type EventData, type EndpointContract } from "./event.js";
export { CE, SIG_HEADERS, toCeHeaders, fromCeHeaders, type CloudEventMeta } from "./cloudevents.js";
export { IsoTime, Severity, SEVERITY_RANK } from "./events/common.js";
export { RepoSnapshot, RepoBranch, RepoOperation, RepoGone, repoSnapshot, repoGone } from "./events/repo.js";
export { ServiceStatus, ServiceKind, ServiceState, Heartbeat, serviceStatus, heartbeat } from "./events/service.js";
export {
  Loop,
  LoopEvent,
  LoopEntity,
  LoopStatus,
  LoopTransition,
  Triage,
  loopOpened,
  loopUpdated,
  loopClosed,
  LOOP_FILTER,
  anyLoopEvent,
  LOOP_EVENT_TYPES,
} from "./events/loop.js";
export {
  NotifyOutcome,
  notifySent,
  notifyFailed,
  anyNotifyOutcome,
  NOTIFY_EVENT_TYPES,
  Silence,
  SilenceAddRequest,
  SilenceListRequest,
  SilenceExpireRequest,
  silenceAdd,
  silenceList,
  silenceExpire,
} from "./events/notify.js";
export { DeadLetter, DlqReason, deadLetter } from "./events/dlq.js";
export * from "./errors.js";
export * from "./model.js";
export * from "./commands.js";
export * from "./maintenance.js";
export * from "./deliveries.js";
export * from "./config/index.js";
export { STREAM, DLQ_STREAM } from "./mesh.js";
export { subjectMatches, subjectsOverlap, subjectWithin } from "./subjects.js";
export {
  defineManifest,
  checkMesh,
  manifestPublishes,
  ManifestError,
  NON_SERVICE_PUBLISHERS,
  type ManifestSpec,
  type ManifestConsumer,
  type ServiceManifest,
  type DurableOptions,
} from "./manifest.js";
export * from "./console.js";
export * from "./history.js";
