import { collectSpecs, runTogether, type ServiceSpec } from "@mirror/kit";

/** A service's name and how to load its main module (whose defineService() hands over the spec). */
export type ServiceModule = [name: string, load: () => Promise<unknown>];

/**
 * The process `pnpm start --single` runs: loads each named service's main module without running
 * it, then runs them all together (runTogether). A module that fails to load is a member that
 * failed to start; the others run.
 */
export async function runSingle(modules: ServiceModule[], names: string[]): Promise<void> {
  const specs: ServiceSpec[] = [];
  const unloaded: Array<{ name: string; error: Error }> = [];
  for (const name of names) {
    const mod = modules.find(([n]) => n === name);
    if (!mod) {
      process.stderr.write(`mirror: unknown service ${name}; services: ${modules.map(([n]) => n).join(", ")}\n`);
      process.exit(2);
    }
    try {
      const found = await collectSpecs(mod[1]);
      if (found.length !== 1) throw new Error(`its main module defined ${found.length} services, not one`);
      specs.push(...found);
    } catch (err) {
      unloaded.push({ name, error: err as Error });
    }
  }
  await runTogether(specs, { unloaded });
}
