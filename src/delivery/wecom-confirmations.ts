/**
 * WeCom mass sends wait for the staff member to confirm them in WeCom. Until then the ledger row is
 * 'sent' (the task exists). This poller reads each open task's per-customer results and settles
 * the rows: delivered when the customer got it, failed when they are not the sender's friend any
 * more or were past the allowance; still 'sent' while the staff member has not confirmed.
 */
import { recordMessageEvents } from './ledger.ts';
import { sql } from 'kysely';
import type { Stores } from '../stores/stores.ts';
import { channelSecretsVersion, clientFor } from '../channels/store.ts';
import { channelSchema } from '../contract/channels.ts';
import type { WeComCustomerContactClient } from '../channels/wecom.ts';

const clients = new Map<string, WeComCustomerContactClient>();

/** Tasks older than this are not asked about again (WeCom keeps results for a limited time). */
const LOOK_BACK_DAYS = 30;

export async function pollWeComConfirmations(
  stores: Stores,
  options: { env?: NodeJS.ProcessEnv; log?: (m: string) => void; workspaceId?: string } = {},
): Promise<{ tasks: number; delivered: number; failed: number }> {
  let channelsQuery = stores.state.db.selectFrom('channels').select(['workspace_id', 'key', 'definition']).where('kind', '=', 'wecom');
  // One workspace's channels only, when asked (every workspace's otherwise).
  if (options.workspaceId) channelsQuery = channelsQuery.where('workspace_id', '=', options.workspaceId);
  const channels = await channelsQuery.execute();
  let tasks = 0;
  let delivered = 0;
  let failed = 0;
  for (const row of channels) {
    const { rows: open } = await sql<{ msgid: string; sender: string }>`
      SELECT DISTINCT provider_id AS msgid, content->>'sender' AS sender FROM deliveries
      WHERE workspace_id = ${row.workspace_id} AND channel = ${row.key} AND status = 'sent' AND provider_id IS NOT NULL
        AND sent_at > now() - make_interval(days => ${LOOK_BACK_DAYS})`.execute(stores.state.db);
    if (open.length === 0) continue;
    let client: WeComCustomerContactClient;
    try {
      // One client per channel as configured, kept between polls (with its access token).
      const channel = channelSchema.parse(row.definition);
      // A replaced secret makes a new key, so the client is rebuilt with it.
      const cacheKey = `${row.workspace_id}\u0000${row.key}\u0000${JSON.stringify(row.definition)}\u0000${await channelSecretsVersion(stores, row.workspace_id, channel)}`;
      client = clients.get(cacheKey) ?? ((await clientFor(stores, row.workspace_id, channel, options.env)) as WeComCustomerContactClient);
      clients.set(cacheKey, client);
    } catch (error) {
      options.log?.(`wecom confirmations: ${(error as Error).message}`);
      continue;
    }
    for (const task of open) {
      tasks++;
      const outcomes = new Map<string, { status: 'delivered' | 'failed'; reason: string | null }>();
      let cursor: string | undefined;
      do {
        const page = await client.sendResults(task.msgid, { sender: task.sender, cursor });
        if (page.outcome !== 'ok') {
          options.log?.(`wecom confirmations: ${task.msgid}: ${page.reason}`);
          break;
        }
        for (const r of page.recipients) {
          if (r.status === 'sent') outcomes.set(r.externalUserId, { status: 'delivered', reason: null });
          if (r.status === 'not_friend') outcomes.set(r.externalUserId, { status: 'failed', reason: "wecom: the customer is no longer the sender's contact" });
          if (r.status === 'limit_reached') outcomes.set(r.externalUserId, { status: 'failed', reason: 'wecom: the customer had received the most mass messages allowed' });
        }
        cursor = page.nextCursor;
      } while (cursor);
      if (outcomes.size === 0) continue;
      const addresses = [...outcomes.keys()];
      const { rows: settled } = await sql<{
        plan_key: string;
        run_id: string;
        person_id: number;
        step: string;
        variant: string;
        status: 'delivered' | 'failed';
        reason: string | null;
      }>`
        UPDATE deliveries AS d SET status = v.status, reason = v.reason, updated_at = now()
        FROM (SELECT unnest(${addresses}::text[]) AS address, unnest(${addresses.map((a) => outcomes.get(a)!.status)}::text[]) AS status,
                     unnest(${addresses.map((a) => outcomes.get(a)!.reason)}::text[]) AS reason) AS v
        WHERE d.workspace_id = ${row.workspace_id} AND d.channel = ${row.key} AND d.provider_id = ${task.msgid} AND d.address = v.address AND d.status = 'sent'
        RETURNING d.plan_key, d.run_id, d.person_id, d.step, d.variant, d.status, d.reason`.execute(stores.state.db);
      if (settled.length > 0) {
        const at = new Date();
        await recordMessageEvents(
          stores,
          settled.map((s) => ({
            workspaceId: row.workspace_id,
            plan: s.plan_key,
            runId: s.run_id,
            personId: Number(s.person_id),
            step: s.step,
            variant: s.variant,
            channel: row.key,
            event: s.status,
            reason: s.reason ?? '',
            at,
          })),
        );
      }
      delivered += settled.filter((s) => s.status === 'delivered').length;
      failed += settled.filter((s) => s.status === 'failed').length;
    }
  }
  return { tasks, delivered, failed };
}
