import type { LoopStatus } from "@mirror/contracts";

/** One loop event as the browser gets it: enough to know what to refresh. */
export interface LoopLiveEvent {
  /** The event's stream sequence: the SSE id, so a reconnect with Last-Event-ID resumes after it. */
  id: number;
  kind: "loop";
  type: "opened" | "updated" | "closed";
  loopId: string;
  status: LoopStatus;
}

/** A check's or mesh member's new state (the Overview and Services pages refresh). */
export interface ServiceLiveEvent {
  id: number;
  kind: "service";
  name: string;
  /** In a mesh of several probe sites: the check's first site's state (see SiteStates). */
  state: string;
  /** Each probe site's latest state, when the mesh has several. */
  sites?: Record<string, string>;
}

/** A delivery sent or given up (the Notifications page refreshes). */
export interface NotifyLiveEvent {
  id: number;
  kind: "notify";
  channel: string;
  outcome: "sent" | "failed";
}

export type LiveEvent = LoopLiveEvent | ServiceLiveEvent | NotifyLiveEvent;

type Listener = (e: LiveEvent) => void;

/** An event as a feed hands it to the hub, before the hub numbers it. */
export type LiveInput = { [K in LiveEvent["kind"]]: Omit<Extract<LiveEvent, { kind: K }>, "id"> }[LiveEvent["kind"]];

/**
 * Recent events for the pages' live updates; a reconnecting browser gets what it missed, or a
 * `resync` when the hub cannot tell (see complete()). The hub numbers the events itself (the SSE
 * ids): the loop and delivery feeds are live subscriptions without stream sequences. Ids start
 * from the wall clock in microseconds, so an id from before a restart of the console is below
 * every id after it.
 */
export class LiveHub {
  private readonly recent: { e: LiveEvent; key: string }[] = [];
  private readonly keys = new Set<string>();
  private readonly listeners = new Set<Listener>();
  private cursor: number;
  /** The lowest Last-Event-ID after which every event is still known (see complete()). */
  private floor: number;
  private watchersChanged: ((n: number) => void) | undefined;
  /** Events taken in, per kind (duplicates not counted). */
  readonly published = { loop: 0, service: 0, notify: 0 };

  constructor(
    private readonly keep = 500,
    now: () => number = Date.now,
    /** Told of each event taken in (the console counts them in mirror_console_live_events_total). */
    private readonly taken?: (kind: LiveEvent["kind"]) => void,
  ) {
    this.cursor = Math.floor(now()) * 1000;
    this.floor = this.cursor;
  }

  /**
   * Takes one event in; `key` names it for de-duplication (default: its kind and source `id`,
   * e.g. a stream sequence). A live subscription may see a retried publish twice: pass its ce-id.
   */
  publish(e: LiveInput & { id?: number }, key = `${e.kind}:${e.id}`): void {
    if (this.keys.has(key)) return;
    const stamped = { ...e, id: ++this.cursor } as LiveEvent;
    this.published[stamped.kind]++;
    this.taken?.(stamped.kind);
    this.recent.push({ e: stamped, key });
    this.keys.add(key);
    if (this.recent.length > this.keep) {
      const gone = this.recent.shift();
      if (gone) {
        this.keys.delete(gone.key);
        this.floor = Math.max(this.floor, gone.e.id);
      }
    }
    for (const l of this.listeners) l(stamped);
  }

  /** Events after `lastId` still held (all held when `lastId` is older than the oldest). */
  since(lastId: number): LiveEvent[] {
    return this.recent.filter((r) => r.e.id > lastId).map((r) => r.e);
  }

  /**
   * Whether since(lastId) is everything that happened after `lastId`: false for an id from
   * another run of the console, one older than the events held, or one from before a feed
   * (re)started (events then went unseen).
   */
  complete(lastId: number): boolean {
    return lastId >= this.floor && lastId <= this.cursor;
  }

  /** The id of the latest event (or gap): what a new stream's position starts at. */
  get position(): number {
    return this.cursor;
  }

  /** A feed (re)starts: events before now may have gone unseen, so older positions are not complete. */
  gap(): void {
    this.floor = ++this.cursor;
  }

  subscribe(l: Listener): () => void {
    this.listeners.add(l);
    this.watchersChanged?.(this.listeners.size);
    return () => {
      if (!this.listeners.delete(l)) return;
      this.watchersChanged?.(this.listeners.size);
    };
  }

  /** Called with the number of subscribers whenever one comes or goes (the live feeds follow it). */
  onWatchers(fn: (n: number) => void): void {
    this.watchersChanged = fn;
  }

  get subscribers(): number {
    return this.listeners.size;
  }
}

/** One SSE frame. */
export function sseFrame(e: LiveEvent): string {
  return `id: ${e.id}\nevent: ${e.kind}\ndata: ${JSON.stringify(e)}\n\n`;
}

/** Tells the page its view may have missed events (it fetches its content again); moves its position to `id`. */
export function resyncFrame(id: number): string {
  return `id: ${id}\nevent: resync\ndata: {}\n\n`;
}
