/**
 * V8 flags for every service process. The live heap of the busiest service (notifier, loop-detector)
 * is ~20 MB after a full GC, but under load V8's defaults let it reach 200 MB: two 16 MB young
 * semi-spaces, and old space filling with garbage to four times its live size before a compaction
 * (the growing factor of a heap limit of 2 GB or more). 2 MB semi-spaces and a 512 MB limit
 * (growing factor ~1.4) keep them under ~120 MB with no CPU per event measurably added
 * (`pnpm bench pipeline`); 512 MB is still 25 times the live heap of any service. Tighter
 * (1 MB, 256 MB) took the notifier's peak from ~113 to 106 MB but its CPU per event up ~15%.
 * Not --enable-source-maps: the notifier formats a stack at start, which loads its bundle's maps
 * (idle 90-92 MB with the flag, 80-81 MB without; peak 124-137 MB under load). Stack traces name
 * functions (esbuild keepNames) at bundle positions; NODE_OPTIONS=--enable-source-maps maps them to
 * the TypeScript file and line when that is worth the memory.
 *
 * --no-memory-reducer: V8's memory reducer runs full GCs once a process has gone quiet, to give
 * memory back. Those GCs also free the hidden classes (maps) that only the last burst's objects
 * had, and every optimized function that embedded one is thrown away ("dependency-change: weak
 * objects"): the notifier lost ~100 optimized functions in each quiet spell of `pnpm bench
 * pipeline` (391 such deopts in one bench, ~0 without the reducer) and spent the next burst
 * compiling them again on TurboFan's threads (~15% of its CPU in a `perf` profile) and running
 * slower code until they were. A home server's mesh is quiet between bursts, so every burst paid
 * it. Without the reducer the heap still shrinks at the next GC that allocation causes.
 *
 * --no-maglev: Node 24 (the images' node:24) runs V8's mid-tier compiler, Maglev, by default;
 * Node 20 and 22 do not (`node --v8-options`). On Node 24 its code and compile zones cost every
 * service process ~5 MB at idle and ~10 MB under load (`pnpm bench pipeline`: notifier peak
 * 133-139 MB with it, 119-136 without; loop-detector 116-124 against 110-111), and CPU per event
 * was lower without it (docs/PERFORMANCE.md, "Eighth pass"). Where Maglev is off already, the
 * flag changes nothing.
 */
export const SERVICE_NODE_FLAGS = [
  "--max-semi-space-size=2",
  "--max-old-space-size=512",
  "--no-memory-reducer",
  "--no-maglev",
];
