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

/** Recent loop events for the pages' live updates; a reconnecting browser gets what it missed. */
export class LiveHub {
  private readonly recent: LiveEvent[] = [];
  private readonly listeners = new Set<Listener>();

  constructor(private readonly keep = 500) {}

  publish(e: LiveEvent): void {
    if (this.recent.some((r) => r.id === e.id)) return;
    // Two consumers feed the hub: keep it in stream order, so "after Last-Event-ID" stays exact.
    const at = this.recent.findLastIndex((r) => r.id < e.id) + 1;
    this.recent.splice(at, 0, e);
    if (this.recent.length > this.keep) this.recent.shift();
    for (const l of this.listeners) l(e);
  }

  /** Events after `lastId` still held (all held when `lastId` is older than the oldest). */
  since(lastId: number): LiveEvent[] {
    return this.recent.filter((e) => e.id > lastId);
  }

  subscribe(l: Listener): () => void {
    this.listeners.add(l);
    return () => void this.listeners.delete(l);
  }

  get subscribers(): number {
    return this.listeners.size;
  }
}

/** One SSE frame. */
export function sseFrame(e: LiveEvent): string {
  return `id: ${e.id}\nevent: ${e.kind}\ndata: ${JSON.stringify(e)}\n\n`;
}
