export { defineService, runService, redactUrl, type ServiceSpec, type ServiceContext, type Started, type RunOptions, type RunningService } from "./service.js";
export { loadConfig, parseConfig, configPath, ConfigError } from "./config.js";
export { createLogger, REDACT_PATHS } from "./logger.js";
export { createStore } from "./store.js";
export { buildHttp } from "./http.js";
export { type Clock, systemClock, ManualClock } from "./clock.js";
export { loadIdentity, credentialPath, type Identity } from "./identity.js";
