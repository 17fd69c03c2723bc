import { ModelError } from "./errors.js";

/**
 * At most `max` calls to the model server at once. A request waits for a slot at most
 * `queueTimeoutMs`; after that it is refused as busy rather than piling up behind a slow model.
 */
export class Limiter {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private max: number,
    private queueTimeoutMs: number,
  ) {}

  /**
   * New limits from a config reload: calls in flight keep their slot; more slots let waiting
   * requests in at once, fewer let none in until enough calls have finished.
   */
  resize(max: number, queueTimeoutMs: number): void {
    this.max = max;
    this.queueTimeoutMs = queueTimeoutMs;
    while (this.active < this.max && this.waiting.length) this.waiting.shift()?.();
  }

  get inFlight(): number {
    return this.active;
  }

  get queued(): number {
    return this.waiting.length;
  }

  /** Runs `work` in a slot, waiting for one at most `waitMs` (default: the queue timeout). */
  async run<T>(waitMs: number, work: () => Promise<T>): Promise<T> {
    await this.acquire(Math.min(waitMs, this.queueTimeoutMs));
    try {
      return await work();
    } finally {
      this.release();
    }
  }

  private acquire(waitMs: number): Promise<void> {
    if (this.active < this.max) {
      this.active++;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const grant = () => {
        clearTimeout(timer);
        this.active++;
        resolve();
      };
      const timer = setTimeout(() => {
        const i = this.waiting.indexOf(grant);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(new ModelError("MODEL_BUSY", `all ${this.max} model slots stayed busy for ${waitMs}ms`));
      }, waitMs);
      this.waiting.push(grant);
    });
  }

  private release(): void {
    this.active--;
    if (this.active < this.max) this.waiting.shift()?.();
  }
}
