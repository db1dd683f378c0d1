/**
 * Collects tracked events from concurrent requests and writes them to the facts store in batches.
 * A request is acknowledged only after the batch holding its events is written (durable). New
 * records are attached to people shortly after, in the background. When a shared write fails, each
 * request's events are written again on their own, so one client's bad events fail only its request.
 */
import type { Stores } from '../stores/stores.ts';
import type { Entity } from '../ingest/entities.ts';
import { IngestWriter } from '../ingest/writer.ts';
import { resolveSerially } from '../identity/resolve-queue.ts';

interface Pending {
  entities: Entity[];
  resolve: () => void;
  reject: (error: Error) => void;
}

export interface EventBufferOptions {
  /** Write when this many events wait… */
  maxEvents?: number;
  /** …or this long after the first one arrived. */
  maxDelayMs?: number;
  /** The most events one write takes; more wait for the next. */
  maxWriteEvents?: number;
  /** Attach new records to people this long after a write (0: never, for benchmarks of the write path). */
  resolveAfterMs?: number;
}

interface WorkspaceQueue {
  pending: Pending[];
  count: number;
  timer?: NodeJS.Timeout;
  /** The write in flight, if any: while it runs, arrivals gather into the next write (group commit). */
  writing?: Promise<void>;
}

export class EventBuffer {
  private readonly stores: Stores;
  private readonly maxEvents: number;
  private readonly maxDelayMs: number;
  private readonly maxWriteEvents: number;
  private readonly resolveAfterMs: number;
  private readonly queues = new Map<string, WorkspaceQueue>();
  private readonly resolveTimers = new Map<string, NodeJS.Timeout>();
  private closed = false;

  constructor(stores: Stores, options: EventBufferOptions = {}) {
    this.stores = stores;
    this.maxEvents = options.maxEvents ?? 2000;
    this.maxDelayMs = options.maxDelayMs ?? 10;
    this.maxWriteEvents = options.maxWriteEvents ?? 50_000;
    this.resolveAfterMs = options.resolveAfterMs ?? 2000;
  }

  /** Resolves when the events are in the facts store. */
  add(workspaceId: string, entities: Entity[]): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the server is stopping'));
    return new Promise<void>((resolve, reject) => {
      let queue = this.queues.get(workspaceId);
      if (!queue) this.queues.set(workspaceId, (queue = { pending: [], count: 0 }));
      queue.pending.push({ entities, resolve, reject });
      queue.count += entities.length;
      if (queue.writing) return; // taken by the write after the one in flight
      if (queue.count >= this.maxEvents) this.write(workspaceId, queue);
      else if (!queue.timer) queue.timer = setTimeout(() => this.write(workspaceId, queue), this.maxDelayMs);
    });
  }

  /**
   * Writes what waits, one write per workspace at a time. Under load, each write takes everything
   * that arrived during the previous one, so batches grow with the rate instead of queueing up.
   */
  private write(workspaceId: string, queue: WorkspaceQueue): void {
    clearTimeout(queue.timer);
    queue.timer = undefined;
    if (queue.pending.length === 0 || queue.writing) return;
    const taken: Pending[] = [];
    let events = 0;
    while (queue.pending.length > 0 && (taken.length === 0 || events + queue.pending[0].entities.length <= this.maxWriteEvents)) {
      const next = queue.pending.shift()!;
      taken.push(next);
      events += next.entities.length;
    }
    queue.count -= events;
    const writeOf = (pending: Pending[]) => new IngestWriter(this.stores.facts, workspaceId, 'track').write(pending.flatMap((p) => p.entities));
    queue.writing = (async () => {
      try {
        await writeOf(taken);
        for (const p of taken) p.resolve();
      } catch (error) {
        if (taken.length === 1) {
          taken[0].reject(error as Error);
          return;
        }
        // One request's events may be what the store refused: each is written alone, so only it fails.
        for (const p of taken) {
          try {
            await writeOf([p]);
            p.resolve();
          } catch (alone) {
            p.reject(alone as Error);
          }
        }
      } finally {
        this.scheduleResolve(workspaceId);
      }
    })();
    queue.writing.then(() => {
      queue.writing = undefined;
      if (queue.pending.length > 0) this.write(workspaceId, queue);
      else if (this.queues.get(workspaceId) === queue) this.queues.delete(workspaceId);
    });
  }

  private scheduleResolve(workspaceId: string): void {
    if (this.resolveAfterMs <= 0 || this.resolveTimers.has(workspaceId) || this.closed) return;
    const timer = setTimeout(() => {
      this.resolveTimers.delete(workspaceId);
      resolveSerially(this.stores, { workspaceId }).catch(() => undefined);
    }, this.resolveAfterMs);
    timer.unref();
    this.resolveTimers.set(workspaceId, timer);
  }

  /** Writes what waits and stops taking events. */
  async close(): Promise<void> {
    this.closed = true;
    for (const [workspaceId, queue] of this.queues) this.write(workspaceId, queue);
    // Each write starts the next while events wait; wait until every queue has drained.
    while (this.queues.size > 0) {
      await Promise.allSettled([...this.queues.values()].map((q) => q.writing ?? Promise.resolve()));
      for (const [workspaceId, queue] of this.queues) {
        if (!queue.writing && queue.pending.length === 0) this.queues.delete(workspaceId);
        else if (!queue.writing) this.write(workspaceId, queue);
      }
    }
    for (const timer of this.resolveTimers.values()) clearTimeout(timer);
  }
}
