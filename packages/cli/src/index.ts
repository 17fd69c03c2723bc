export { defaultServices, loadManifests, manifestFolders, MANIFEST_PATH, startOrder } from "./manifests.js";
