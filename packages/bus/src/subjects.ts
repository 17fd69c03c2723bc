/** NATS subject wildcards: the matching rules live in @mirror/contracts (manifests check subjects too). */
export { subjectMatches, subjectsOverlap, subjectWithin } from "@mirror/contracts";
