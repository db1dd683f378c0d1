/**
 * Collects tracked events from concurrent requests and writes them to the facts store in batches.
 * A request is acknowledged only after the batch holding its events is written (durable). New
 * records are attached to people shortly after, in the background.
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
  /** Attach new records to people this long after a write (0: never, for benchmarks of the write path). */
  resolveAfterMs?: number;
}

export class EventBuffer {
  private readonly stores: Stores;
  private readonly maxEvents: number;
  private readonly maxDelayMs: number;
  private readonly resolveAfterMs: number;
  private readonly queues = new Map<string, { pending: Pending[]; count: number; timer?: NodeJS.Timeout }>();
  private readonly writing = new Map<string, Promise<void>>();
  private readonly resolveTimers = new Map<string, NodeJS.Timeout>();
  private closed = false;

  constructor(stores: Stores, options: EventBufferOptions = {}) {
    this.stores = stores;
    this.maxEvents = options.maxEvents ?? 2000;
    this.maxDelayMs = options.maxDelayMs ?? 20;
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
      if (queue.count >= this.maxEvents) this.flush(workspaceId);
      else if (!queue.timer) queue.timer = setTimeout(() => this.flush(workspaceId), this.maxDelayMs);
    });
  }

  private flush(workspaceId: string): void {
    const queue = this.queues.get(workspaceId);
    if (!queue || queue.pending.length === 0) return;
    clearTimeout(queue.timer);
    this.queues.delete(workspaceId);
    // Writes of one workspace go one after another, in arrival order.
    const previous = this.writing.get(workspaceId) ?? Promise.resolve();
    const write = previous.then(async () => {
      try {
        await new IngestWriter(this.stores.facts, workspaceId, 'track').write(queue.pending.flatMap((p) => p.entities));
        for (const p of queue.pending) p.resolve();
        this.scheduleResolve(workspaceId);
      } catch (error) {
        for (const p of queue.pending) p.reject(error as Error);
      }
    });
    this.writing.set(workspaceId, write);
    const clear = () => {
      if (this.writing.get(workspaceId) === write) this.writing.delete(workspaceId);
    };
    write.then(clear, clear);
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
    for (const workspaceId of [...this.queues.keys()]) this.flush(workspaceId);
    await Promise.allSettled([...this.writing.values()]);
    for (const timer of this.resolveTimers.values()) clearTimeout(timer);
  }
}
