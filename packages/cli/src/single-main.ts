// `pnpm start --single` from the TypeScript sources (MIRROR_FROM_SOURCE=1, under tsx):
// node --import tsx single-main.ts NAME...
import { existsSync, readdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { runSingle, type ServiceModule } from "./single.js";

const services = resolve(dirname(fileURLToPath(import.meta.url)), "../../../services");
const modules = readdirSync(services)
  .filter((n) => existsSync(join(services, n, "src", "main.ts")))
  .map((n): ServiceModule => [n, () => import(pathToFileURL(join(services, n, "src", "main.ts")).href)]);
await runSingle(modules, process.argv.slice(2));
