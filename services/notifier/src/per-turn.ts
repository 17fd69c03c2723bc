/**
 * One `make(now)` for every caller in one turn of the event loop that asks with the same `now`
 * (ms): the loop events of one pull are handled together, and each read the same flush view
 * (an HGETALL of the silences, compiled) for itself. Redis commands are auto-pipelined and go out
 * when the turn's ticks run, so a shared read is sent after every caller that shares it asked,
 * and each gets what a read of its own would have returned; a caller in a later turn reads again.
 * Callers resume in promise callbacks, never between the pipeline's flush and the reset below
 * (ticks run back to back), so none joins a read that has already been sent.
 */
export function perTurn<T>(make: (now: number) => Promise<T>): (now: number) => Promise<T> {
  let current: { now: number; value: Promise<T> } | undefined;
  return (now) => {
    if (current?.now === now) return current.value;
    const mine = { now, value: make(now) };
    current = mine;
    process.nextTick(() => {
      if (current === mine) current = undefined;
    });
    return mine.value;
  };
}
