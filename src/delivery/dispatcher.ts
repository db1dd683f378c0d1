/**
 * The dispatcher: workers that drain the delivery ledger. A batch of due rows is claimed in one
 * UPDATE … FOR UPDATE SKIP LOCKED under a lease (so several workers, or a worker that restarts after
 * being killed, never hold the same row), sent through each channel at its pace, and settled in one
 * UPDATE: sent, retried later with backoff (5xx, 429, timeouts), failed, or parked after the last try.
 * A claimed row stays 'queued' with a live lease (the claim writes only unindexed columns, so
 * PostgreSQL rewrites it in place). A row whose worker died is claimed again when its lease runs
 * out and sent with the same delivery id, which receivers use to drop a repeat.
 */
import { recordMessageEvents, type MessageEvent } from './ledger.ts';
import { sql } from 'kysely';
import type { Stores } from '../stores/stores.ts';
import { ledgerReason, type ChannelClient, type OutboundMessage, type SendResult } from '../channels/channel.ts';
import { ChannelConfigError, channelSecretsVersion, clientFor, getChannel } from '../channels/store.ts';
import { ZodError } from 'zod';
import { NotFoundError } from '../kernel/errors.ts';
import type { Channel } from '../contract/channels.ts';
import { getPolicy, quietHoursAt } from '../policy/policy.ts';
import type { Policy } from '../contract/policy.ts';
import { WorkspaceService } from '../access/workspaces.ts';
import { CallRateLimiter } from '../kernel/rate-limiter.ts';

export interface DispatcherOptions {
  /** Rows claimed per batch. */
  batch?: number;
  /** How long a claim holds before another worker may take the row. */
  leaseSeconds?: number;
  /** Tries before a message is parked. */
  maxAttempts?: number;
  /** First retry delay; doubles with each try (with jitter), capped at 30 minutes. */
  backoffMs?: number;
  /** Pause between polls when nothing is due. */
  idleMs?: number;
  env?: NodeJS.ProcessEnv;
  log?: (message: string) => void;
  /**
   * Called whenever nothing is due (and at the end of drain()): the app settles the runs whose
   * messages are all settled. Handed down by the app so delivery never imports plans.
   */
  onQueueEmpty?: () => Promise<unknown>;
}

interface Claimed {
  id: number;
  workspace_id: string;
  plan_key: string;
  run_id: string;
  person_id: number;
  step: string;
  variant: string;
  channel: string;
  purpose: string;
  address: string | null;
  content: unknown;
  attempts: number;
  /** The claim's lease: also its fencing token (a row settles only while it still holds this lease). */
  lease_until: Date;
}

interface Settlement {
  id: number;
  status: 'sent' | 'delivered' | 'queued' | 'failed' | 'parked';
  reason: string | null;
  providerId: string | null;
  nextAttemptAt: Date | null;
}

/**
 * A channel's pace: at most `perMinute` sends, spread over the minute — a burst of at most a
 * second's worth, then one window of that many per its share of the minute (30/min: 1 per 2 s).
 */
function paceOf(perMinute: number): CallRateLimiter {
  const burst = Math.max(1, Math.ceil(perMinute / 60));
  return new CallRateLimiter({ windows: [{ limit: burst, windowMs: (burst * 60_000) / perMinute }] });
}

interface ChannelRuntime {
  channel: Channel;
  /** When the channel's secrets last changed: a replaced secret gets a new client. */
  secretsVersion: string;
  client: ChannelClient;
  pace: CallRateLimiter;
  loadedAt: number;
}

/** How often outcomes of a batch in flight are written. */
const FLUSH_MS = 100;

export class Dispatcher {
  private readonly stores: Stores;
  private readonly options: Required<Omit<DispatcherOptions, 'log' | 'env' | 'onQueueEmpty'>> & Pick<DispatcherOptions, 'log' | 'env' | 'onQueueEmpty'>;
  private readonly channels = new Map<string, ChannelRuntime>();
  private readonly workspaces = new Map<string, { timeZone: string; policy: Policy; loadedAt: number }>();
  private running = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;

  constructor(stores: Stores, options: DispatcherOptions = {}) {
    this.stores = stores;
    this.options = { batch: 1000, leaseSeconds: 120, maxAttempts: 5, backoffMs: 2_000, idleMs: 500, ...options };
  }

  /**
   * Runs until stop(): claims and sends whatever is due. On the embedded state store this process is
   * the only one, so messages a process that died was sending are taken back at once instead
   * of after their lease (they are sent again with the same delivery id).
   */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = (async () => {
      if (this.stores.state.engine === 'pglite') {
        const { numUpdatedRows } = await this.stores.state.db
          .updateTable('deliveries')
          .set({ lease_until: new Date(0) })
          .where('status', '=', 'queued')
          .where('lease_until', '>', new Date(0))
          .executeTakeFirst();
        if (numUpdatedRows > 0n) this.options.log?.(`dispatcher: ${numUpdatedRows} messages were being sent when the last process stopped; sending them again (same delivery ids)`);
      }
      // The next batch is claimed while this one is being sent, so the state store's round trip
      // overlaps the network's.
      let upcoming: Promise<Claimed[]> | undefined;
      while (this.running) {
        let sent = 0;
        try {
          // A batch claimed ahead may have waited past its lease: take the leases up again first
          // (before the next claim could take them), leaving rows another worker took meanwhile.
          const ahead = upcoming;
          upcoming = undefined;
          const claimed = ahead ? await this.hold(await ahead) : await this.claim();
          if (claimed.length > 0) {
            upcoming = this.claim();
            upcoming.catch(() => undefined);
            await this.send(claimed);
          } else {
            await this.options.onQueueEmpty?.();
          }
          sent = claimed.length;
        } catch (error) {
          this.options.log?.(`dispatcher: ${(error as Error).message}`);
          // The batch claimed ahead goes back to the queue as it was.
          const ahead = upcoming;
          upcoming = undefined;
          await this.release(await ahead?.catch(() => [] as Claimed[])).catch(() => undefined);
        }
        if (sent === 0 && this.running)
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, this.options.idleMs);
            this.wake = () => {
              clearTimeout(timer);
              resolve();
            };
          });
      }
      // A batch claimed but not started goes back to the queue as it was.
      await this.release(await upcoming?.catch(() => [] as Claimed[]));
    })();
  }

  /** Gives back rows claimed but not sent (their try is not counted). */
  private async release(rows: Claimed[] | undefined): Promise<void> {
    if (!rows || rows.length === 0) return;
    await sql`
      UPDATE deliveries AS d SET attempts = d.attempts - 1, lease_until = NULL
      FROM unnest(${rows.map((c) => c.id)}::bigint[], ${rows.map((c) => c.lease_until.toISOString())}::timestamptz[]) AS v(id, lease)
      WHERE d.id = v.id AND d.status = 'queued' AND d.lease_until = v.lease`.execute(this.stores.state.db);
  }

  /**
   * Extends the leases of rows still in hand; returns the ones whose lease this worker still held
   * (a row whose lease ran out and was claimed by another worker is that worker's now).
   */
  private async renew(rows: Claimed[]): Promise<Set<number>> {
    if (rows.length === 0) return new Set();
    const { rows: kept } = await sql<{ id: number; lease_until: Date }>`
      UPDATE deliveries AS d SET lease_until = date_trunc('milliseconds', now() + make_interval(secs => ${this.options.leaseSeconds}))
      FROM unnest(${rows.map((c) => c.id)}::bigint[], ${rows.map((c) => c.lease_until.toISOString())}::timestamptz[]) AS v(id, lease)
      WHERE d.id = v.id AND d.status = 'queued' AND d.lease_until = v.lease
      RETURNING d.id, d.lease_until`.execute(this.stores.state.db);
    const leases = new Map(kept.map((k) => [Number(k.id), new Date(k.lease_until)]));
    for (const row of rows) {
      const lease = leases.get(row.id);
      if (lease) row.lease_until = lease;
    }
    return new Set(leases.keys());
  }

  /** Stops after the batch in hand is settled. */
  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
    await Promise.all([...this.channels.values()].map((c) => c.client.close?.()));
  }

  /** Sends until nothing is due now (rows waiting for a later retry or quiet hours stay). */
  async drain(): Promise<number> {
    let total = 0;
    for (;;) {
      const sent = await this.dispatchBatch();
      if (sent === 0) break;
      total += sent;
    }
    await this.options.onQueueEmpty?.();
    return total;
  }

  /** Claims one batch of due rows, sends them, settles them. Returns how many were claimed. */
  async dispatchBatch(): Promise<number> {
    const claimed = await this.claim();
    if (claimed.length > 0) await this.send(claimed);
    return claimed.length;
  }

  /** The rows of a batch whose leases this worker still holds, renewed when half spent. */
  private async hold(batch: Claimed[]): Promise<Claimed[]> {
    // Leases with more than half their time left are this worker's for sure: nothing to write.
    const halfLeft = Date.now() + (this.options.leaseSeconds * 1000) / 2;
    if (batch.every((row) => row.lease_until.getTime() > halfLeft)) return batch;
    const held = await this.renew(batch);
    return batch.filter((row) => held.has(row.id));
  }

  /** Sends a claimed batch (whose leases are fresh) through its channels and settles every row of it. */
  private async send(claimed: Claimed[]): Promise<void> {
    const unsettled = new Set(claimed.map((row) => row.id));
    const byChannel = new Map<string, Claimed[]>();
    for (const row of claimed) {
      const key = `${row.workspace_id}\u0000${row.channel}`;
      const rows = byChannel.get(key);
      if (rows) rows.push(row);
      else byChannel.set(key, [row]);
    }
    // Outcomes are settled every FLUSH_MS while the batch is still sending, so a process killed
    // mid-batch leaves at most that much sent-but-unrecorded (those go again, same delivery ids).
    // A write that fails puts its outcomes back for the next flush.
    let pending: Settlement[] = [];
    let flushing: Promise<void> = Promise.resolve();
    const flush = () => {
      const taken = pending;
      pending = [];
      flushing = flushing.then(async () => {
        if (taken.length === 0) return;
        try {
          await this.settle(claimed, taken);
          for (const t of taken) unsettled.delete(t.id);
        } catch (error) {
          pending.unshift(...taken);
          this.options.log?.(`dispatcher: recording outcomes failed (will try again): ${(error as Error).message}`);
        }
      });
      return flushing;
    };
    const ticker = setInterval(() => void flush(), FLUSH_MS);
    // Leases outlive slow batches: renewed every third of a lease while rows are in hand.
    let lost = new Set<number>();
    // Renewals go in the same chain as the writes of outcomes, so a write always carries the lease
    // the row holds at that moment.
    const heartbeat = setInterval(
      () => {
        flushing = flushing.then(async () => {
          const inHand = claimed.filter((row) => unsettled.has(row.id));
          const kept = await this.renew(inHand).catch(() => undefined);
          if (kept) lost = new Set(inHand.filter((row) => !kept.has(row.id)).map((row) => row.id));
        });
      },
      (this.options.leaseSeconds * 1000) / 3,
    );
    try {
      await Promise.all(
        [...byChannel.values()].map(async (rows) => {
          let runtime: ChannelRuntime;
          try {
            runtime = await this.runtime(rows[0].workspace_id, rows[0].channel);
          } catch (error) {
            // A channel that cannot send as configured (deleted, invalid, its secret gone) parks its
            // messages with the reason; anything else (the store did not answer) is tried again.
            const permanent = error instanceof NotFoundError || error instanceof ChannelConfigError || error instanceof ZodError;
            for (const row of rows)
              pending.push(
                await this.settlementOf(
                  row,
                  permanent ? { outcome: 'parked', reason: `channel: ${(error as Error).message}` } : { outcome: 'retry', reason: `channel: ${(error as Error).message}` },
                ),
              );
            return;
          }
          if (runtime.client.sendBatch) {
            // The platform takes a list (one call per sender and message): pace the calls, not the people.
            await runtime.pace.acquire();
            const results = await runtime.client
              .sendBatch(rows.map((row) => this.message(row)))
              .catch((error: Error): SendResult[] => rows.map(() => ({ outcome: 'retry', reason: `client: ${error.message}` })));
            for (const [i, row] of rows.entries()) pending.push(await this.settlementOf(row, results[i]));
            return;
          }
          let next = 0;
          const worker = async () => {
            while (next < rows.length) {
              const row = rows[next++];
              if (lost.has(row.id)) continue; // another worker holds it now
              await runtime.pace.acquire();
              const result = await runtime.client.send(this.message(row)).catch((error: Error): SendResult => ({ outcome: 'retry', reason: `client: ${error.message}` }));
              pending.push(await this.settlementOf(row, result));
            }
          };
          await Promise.all(Array.from({ length: Math.min(runtime.channel.concurrency, rows.length) }, worker));
        }),
      );
    } finally {
      clearInterval(ticker);
      clearInterval(heartbeat);
      await flush();
      // One more try for outcomes a failed write put back; what still fails is sent again after its lease.
      if (pending.length > 0) await flush();
    }
  }

  private message(row: Claimed): OutboundMessage {
    return {
      deliveryId: `${row.run_id}:${row.person_id}:${row.step}`,
      workspaceId: row.workspace_id,
      personId: String(row.person_id),
      address: row.address,
      content: (typeof row.content === 'string' ? JSON.parse(row.content) : row.content) as Record<string, unknown>,
      plan: { key: row.plan_key, runId: row.run_id, variant: row.variant, step: row.step },
    };
  }

  private async claim(): Promise<Claimed[]> {
    const { rows } = await sql<Claimed>`
      UPDATE deliveries AS d
      SET attempts = d.attempts + 1, lease_until = date_trunc('milliseconds', now() + make_interval(secs => ${this.options.leaseSeconds}))
      WHERE d.id IN (
        SELECT q.id FROM deliveries q
        WHERE q.status = 'queued' AND q.next_attempt_at <= now() AND (q.lease_until IS NULL OR q.lease_until < now())
          AND NOT EXISTS (SELECT 1 FROM plans p WHERE p.workspace_id = q.workspace_id AND p.key = q.plan_key AND p.status = 'paused')
        ORDER BY q.next_attempt_at
        LIMIT ${this.options.batch}
        FOR UPDATE SKIP LOCKED)
      RETURNING d.id, d.workspace_id, d.plan_key, d.run_id, d.person_id, d.step, d.variant, d.channel, d.purpose, d.address, d.content, d.attempts, d.lease_until`.execute(
      this.stores.state.db,
    );
    return rows.map((r) => ({ ...r, id: Number(r.id), person_id: Number(r.person_id), attempts: Number(r.attempts), lease_until: new Date(r.lease_until) }));
  }

  private async runtime(workspaceId: string, channelKey: string): Promise<ChannelRuntime> {
    const key = `${workspaceId}\u0000${channelKey}`;
    const cached = this.channels.get(key);
    // Re-read channel settings now and then, so a changed URL or pace takes effect without a restart.
    if (cached && Date.now() - cached.loadedAt < 30_000) return cached;
    const channel = await getChannel(this.stores, workspaceId, channelKey);
    const secretsVersion = await channelSecretsVersion(this.stores, workspaceId, channel);
    // An unchanged channel keeps its client (and with it its access token and open connections).
    if (cached && JSON.stringify(cached.channel) === JSON.stringify(channel) && cached.secretsVersion === secretsVersion) {
      cached.loadedAt = Date.now();
      return cached;
    }
    const runtime = {
      channel,
      secretsVersion,
      client: await clientFor(this.stores, workspaceId, channel, this.options.env),
      pace: cached && cached.channel.ratePerMinute === channel.ratePerMinute ? cached.pace : paceOf(channel.ratePerMinute),
      loadedAt: Date.now(),
    };
    await cached?.client.close?.();
    this.channels.set(key, runtime);
    return runtime;
  }

  private async workspace(workspaceId: string) {
    const cached = this.workspaces.get(workspaceId);
    if (cached && Date.now() - cached.loadedAt < 30_000) return cached;
    const fresh = { timeZone: (await new WorkspaceService(this.stores.state).get(workspaceId)).timeZone, policy: await getPolicy(this.stores, workspaceId), loadedAt: Date.now() };
    this.workspaces.set(workspaceId, fresh);
    return fresh;
  }

  private async settlementOf(row: Claimed, sent: SendResult): Promise<Settlement> {
    // What a remote server answered is kept only as a code and a short redacted excerpt.
    const result = sent.outcome === 'sent' ? sent : { ...sent, reason: ledgerReason(sent.reason) };
    switch (result.outcome) {
      case 'sent':
        return { id: row.id, status: result.delivered ? 'delivered' : 'sent', reason: null, providerId: result.providerId ?? null, nextAttemptAt: null };
      case 'failed':
        return { id: row.id, status: 'failed', reason: result.reason, providerId: null, nextAttemptAt: null };
      case 'parked':
        return { id: row.id, status: 'parked', reason: result.reason, providerId: null, nextAttemptAt: null };
      case 'retry': {
        if (row.attempts >= this.options.maxAttempts)
          return { id: row.id, status: 'parked', reason: `gave up after ${row.attempts} tries: ${result.reason}`, providerId: null, nextAttemptAt: null };
        const backoff = Math.min(30 * 60_000, this.options.backoffMs * 2 ** (row.attempts - 1)) * (0.75 + Math.random() * 0.5);
        let at = new Date(Date.now() + Math.max(backoff, result.retryAfterMs ?? 0));
        // A retry never lands in quiet hours: it waits for them to end.
        const { timeZone, policy } = await this.workspace(row.workspace_id);
        const quiet = quietHoursAt(policy, timeZone, at);
        if (quiet.quiet && quiet.action === 'delay') at = quiet.until;
        return { id: row.id, status: 'queued', reason: result.reason, providerId: null, nextAttemptAt: at };
      }
    }
  }

  /** Writes the outcomes: message events to the facts store first, then the ledger in one UPDATE. */
  private async settle(claimed: Claimed[], settlements: Settlement[]): Promise<void> {
    const rows = new Map(claimed.map((c) => [c.id, c]));
    const now = new Date();
    const events: MessageEvent[] = [];
    const costs = new Map<string, number>();
    for (const s of settlements) {
      if (s.status === 'queued') continue;
      const row = rows.get(s.id)!;
      const base = {
        workspaceId: row.workspace_id,
        plan: row.plan_key,
        runId: row.run_id,
        personId: row.person_id,
        step: row.step,
        variant: row.variant,
        channel: row.channel,
        at: now,
      };
      const costKey = `${row.workspace_id}\u0000${row.channel}`;
      if (!costs.has(costKey)) costs.set(costKey, this.channels.get(costKey)?.channel.costPerMessage ?? 0);
      if (s.status === 'sent' || s.status === 'delivered') events.push({ ...base, event: 'sent', cost: costs.get(costKey) });
      if (s.status === 'delivered') events.push({ ...base, event: 'delivered' });
      if (s.status === 'failed' || s.status === 'parked') events.push({ ...base, event: s.status, reason: s.reason ?? '' });
    }
    await recordMessageEvents(this.stores, events);
    await sql`
      UPDATE deliveries AS d
      SET status = v.status, reason = v.reason, provider_id = v.provider_id, next_attempt_at = v.next_attempt_at,
          sent_at = CASE WHEN v.status IN ('sent', 'delivered') THEN now() ELSE d.sent_at END,
          lease_until = NULL, updated_at = now()
      FROM (SELECT unnest(${settlements.map((s) => s.id)}::bigint[]) AS id, unnest(${settlements.map((s) => s.status)}::text[]) AS status,
                   unnest(${settlements.map((s) => s.reason)}::text[]) AS reason, unnest(${settlements.map((s) => s.providerId)}::text[]) AS provider_id,
                   unnest(${settlements.map((s) => s.nextAttemptAt?.toISOString() ?? null)}::timestamptz[]) AS next_attempt_at,
                   unnest(${settlements.map((s) => rows.get(s.id)!.lease_until.toISOString())}::timestamptz[]) AS lease) AS v
      -- Fenced by the lease the row holds now: a worker whose lease ran out (and was taken over)
      -- cannot overwrite the new holder's outcome.
      WHERE d.id = v.id AND d.status = 'queued' AND d.lease_until = v.lease`.execute(this.stores.state.db);
  }
}
