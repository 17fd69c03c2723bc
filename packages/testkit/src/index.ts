export { freePort } from "./ports.js";
export { waitFor, WaitTimeoutError } from "./wait.js";
export { startNats, startRedis, type ServerHandle } from "./servers.js";
export { git, makeRepo, commitAll, tempDir } from "./git.js";
export { startReceiver, type Receiver, type ReceivedRequest } from "./receiver.js";
export { startMesh, REPO_ROOT, type Mesh } from "./mesh.js";
export {
  descendants,
  killService,
  linesOf,
  rssBytes,
  runsService,
  servicePid,
  sharedServices,
} from "./process-tree.js";
export { startNatsCluster, type ClusterNode, type NatsCluster, type NatsClusterOptions } from "./cluster.js";
export { startRedisSentinel, type RedisSentinelOptions, type RedisSentinelSet } from "./sentinel.js";
export { collectLines, spawnService, type ServiceProcess } from "./service-process.js";
export { startNatsHub, startNatsLeaf, type NatsHub, type NatsLeaf } from "./leaf.js";
