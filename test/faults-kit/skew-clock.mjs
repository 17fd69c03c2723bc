// Preloaded into a service process (NODE_OPTIONS=--import) to skew its wall clock: Date.now()
// returns the real time plus MIRROR_TEST_CLOCK_SKEW_MS (negative: behind). performance.now() and
// the Redis and NATS servers' clocks are untouched, as on a host whose clock is set wrong.
const skew = Number(process.env.MIRROR_TEST_CLOCK_SKEW_MS ?? 0);
if (skew) {
  const real = Date.now.bind(Date);
  Date.now = () => real() + skew;
}
