import type { Clock } from "@mirror/kit";

/** A job returns when it wants to run next (clock ms), or null to stop. */
export type Job = () => Promise<number | null> | number | null;

export interface JobOptions {
  /**
   * How much earlier than its due time (ms) the job may start, so that it shares a wake-up
   * with other jobs. It never starts later than due (unless `concurrency` is saturated).
   * Default 0: exactly on time (heartbeat deadlines, mesh rounds).
   */
  slack?: number;
}

interface JobState {
  run: Job;
  gen: number;
  slack: number;
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
 *
 * The timer sleeps until the most urgent due time, and on waking starts every job whose slack
 * lets it start now (due - slack <= now) together, so thousands of checks spread over their
 * intervals cost one wake-up per slack window instead of one each. A finishing job starts only
 * jobs that are due (or were swept and wait for a free slot), so batches do not dissolve into
 * a trickle of single starts.
 */
export class Scheduler {
  private readonly heap: Entry[] = [];
  private readonly jobs = new Map<string, JobState>();
  /** Swept or due entries waiting for a free slot, in order. */
  private ready: Entry[] = [];
  private readyHead = 0;
  private maxSlack = 0;
  private running = 0;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Number.POSITIVE_INFINITY;
  private stopped = false;
  private readonly wake = () => {
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
    this.pump();
  };

  constructor(
    private readonly clock: Clock,
    private readonly opts: {
      concurrency: number;
      onError: (id: string, err: unknown) => void;
      onLag?: (ms: number) => void;
      maxSleepMs?: number;
    },
  ) {}

  /** Adds or replaces a job, first due at `due`. */
  add(id: string, due: number, run: Job, options: JobOptions = {}): void {
    const prev = this.jobs.get(id);
    const slack = Math.max(0, options.slack ?? 0);
    if (slack > this.maxSlack) this.maxSlack = slack;
    this.jobs.set(id, { run, gen: (prev?.gen ?? 0) + 1, slack, running: prev?.running ?? false, deferred: false });
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
    this.drain();
  }

  /**
   * A wake-up (the timer, or a test's manual clock): starts every job that is due or whose
   * slack lets it start now, as far as the concurrency allows, then sleeps until the next due time.
   */
  pump(): void {
    if (this.stopped) return;
    const now = this.clock.now();
    const horizon = now + this.maxSlack;
    let held: Entry[] | undefined;
    while (this.heap.length > 0 && (this.heap[0] as Entry).due <= horizon) {
      const e = heapPop(this.heap) as Entry;
      const job = this.jobs.get(e.id);
      if (!job || job.gen !== e.gen) continue;
      if (e.due - job.slack <= now) this.ready.push(e);
      else (held ??= []).push(e);
    }
    if (held) for (const e of held) heapPush(this.heap, e);
    this.startReady(now);
  }

  /** Starts what is due now or already swept; a finished job or a new entry calls this, not the timer. */
  private drain(): void {
    if (this.stopped) return;
    const now = this.clock.now();
    while (this.heap.length > 0 && (this.heap[0] as Entry).due <= now) this.ready.push(heapPop(this.heap) as Entry);
    this.startReady(now);
  }

  private startReady(now: number): void {
    while (this.running < this.opts.concurrency && this.readyHead < this.ready.length) {
      const e = this.ready[this.readyHead++] as Entry;
      const job = this.jobs.get(e.id);
      if (!job || job.gen !== e.gen) continue;
      if (job.running) {
        job.deferred = true;
        continue;
      }
      this.opts.onLag?.(Math.max(0, now - e.due));
      this.start(e.id, job);
    }
    if (this.readyHead === this.ready.length) {
      this.ready = [];
      this.readyHead = 0;
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
      else this.drain();
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
    const now = this.clock.now();
    if (this.running >= this.opts.concurrency && top.due <= now) return; // a finishing job drains
    const at = Math.min(top.due, now + (this.opts.maxSleepMs ?? 30_000));
    if (this.timer && at >= this.timerAt) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(this.wake, Math.max(0, at - now));
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
