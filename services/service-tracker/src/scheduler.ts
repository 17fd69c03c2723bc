import type { Clock } from "@mirror/kit";

/** A job returns when it wants to run next (clock ms), or null to stop. */
export type Job = () => Promise<number | null> | number | null;

interface JobState {
  run: Job;
  gen: number;
  running: boolean;
  /** Came due again while running: run once more when it finishes. */
  deferred: boolean;
}

interface Entry {
  due: number;
  id: string;
  gen: number;
}

/**
 * One timer for every check: a min-heap of due times, and at most `concurrency` jobs running.
 * Rescheduling pushes a new heap entry and bumps the job's generation; stale entries are
 * skipped when popped, so there is no per-check timer and no O(n) removal.
 */
export class Scheduler {
  private readonly heap: Entry[] = [];
  private readonly jobs = new Map<string, JobState>();
  private running = 0;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Number.POSITIVE_INFINITY;
  private stopped = false;

  constructor(
    private readonly clock: Clock,
    private readonly opts: { concurrency: number; onError: (id: string, err: unknown) => void; onLag?: (ms: number) => void; maxSleepMs?: number },
  ) {}

  /** Adds or replaces a job, first due at `due`. */
  add(id: string, due: number, run: Job): void {
    const prev = this.jobs.get(id);
    this.jobs.set(id, { run, gen: (prev?.gen ?? 0) + 1, running: prev?.running ?? false, deferred: false });
    this.push(id, due);
  }

  /** Moves a job's next run (e.g. a heartbeat deadline after a ping). */
  reschedule(id: string, due: number): void {
    const job = this.jobs.get(id);
    if (!job) return;
    job.gen++;
    this.push(id, due);
  }

  remove(id: string): void {
    this.jobs.delete(id);
  }

  get size(): number {
    return this.jobs.size;
  }

  get active(): number {
    return this.running;
  }

  private push(id: string, due: number): void {
    const job = this.jobs.get(id);
    if (!job) return;
    heapPush(this.heap, { due, id, gen: job.gen });
    this.pump();
  }

  /** Starts every due job the concurrency allows, then sleeps until the next due time. */
  pump(): void {
    if (this.stopped) return;
    const now = this.clock.now();
    while (this.running < this.opts.concurrency && this.heap.length > 0 && (this.heap[0] as Entry).due <= now) {
      const e = heapPop(this.heap) as Entry;
      const job = this.jobs.get(e.id);
      if (!job || job.gen !== e.gen) continue;
      if (job.running) {
        job.deferred = true;
        continue;
      }
      this.opts.onLag?.(now - e.due);
      this.start(e.id, job);
    }
    this.arm();
  }

  private start(id: string, job: JobState): void {
    this.running++;
    job.running = true;
    const gen = job.gen;
    const done = (next: number | null) => {
      this.running--;
      job.running = false;
      const current = this.jobs.get(id) === job;
      if (current && job.deferred) {
        job.deferred = false;
        this.push(id, this.clock.now());
      } else if (next !== null && current && job.gen === gen) this.push(id, next);
      // A reschedule while it ran wins over the job's own answer.
      else this.pump();
    };
    let out: ReturnType<Job>;
    try {
      out = job.run();
    } catch (err) {
      this.opts.onError(id, err);
      done(null);
      return;
    }
    if (out instanceof Promise) {
      out.then(done, (err) => {
        this.opts.onError(id, err);
        done(null);
      });
    } else done(out);
  }

  private arm(): void {
    const top = this.heap[0];
    if (!top || this.stopped) return;
    if (this.running >= this.opts.concurrency && top.due <= this.clock.now()) return; // a finishing job pumps
    const at = Math.min(top.due, this.clock.now() + (this.opts.maxSleepMs ?? 30_000));
    if (this.timer && at >= this.timerAt) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerAt = Number.POSITIVE_INFINITY;
      this.pump();
    }, Math.max(0, at - this.clock.now()));
    this.timer.unref?.();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

function less(a: Entry, b: Entry): boolean {
  return a.due < b.due;
}

function heapPush(h: Entry[], e: Entry): void {
  h.push(e);
  let i = h.length - 1;
  while (i > 0) {
    const p = (i - 1) >> 1;
    if (!less(h[i] as Entry, h[p] as Entry)) break;
    [h[i], h[p]] = [h[p] as Entry, h[i] as Entry];
    i = p;
  }
}

function heapPop(h: Entry[]): Entry | undefined {
  const top = h[0];
  const last = h.pop();
  if (h.length > 0 && last) {
    h[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && less(h[l] as Entry, h[m] as Entry)) m = l;
      if (r < h.length && less(h[r] as Entry, h[m] as Entry)) m = r;
      if (m === i) break;
      [h[i], h[m]] = [h[m] as Entry, h[i] as Entry];
      i = m;
    }
  }
  return top;
}
