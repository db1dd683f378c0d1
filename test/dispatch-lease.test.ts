/**
 * A batch that takes longer than its lease: the dispatcher keeps its leases alive and settles only
 * what it still holds, so a slow channel is never sent twice (found in review: a channel at 2
 * messages a second with a 1 s lease used to get 18 requests for 12 people).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { openTestStores, tempDir, uniqueSlug } from './helpers.ts';
import { WorkspaceService } from '../src/access/workspaces.ts';
import { runImport } from '../src/ingest/importer.ts';
import { saveSegment } from '../src/segments/segments.ts';
import { saveChannel } from '../src/channels/store.ts';
import { savePolicy } from '../src/policy/policy.ts';
import { savePlan, startPlan } from '../src/plans/plans.ts';
import { runDuePlans } from '../src/plans/run.ts';
import { planDispatcher } from '../src/app/worker.ts';
import { startWebhookReceiver } from '../src/channels/testing/webhook-receiver.ts';

// The contract servers listen on loopback, which outbound HTTP and SMTP refuse unless the server
// operator allows private egress: this test process (and the servers it spawns) allows it.
process.env.SIYU_ALLOW_PRIVATE_EGRESS = '1';
// These suites keep the older environment-variable secrets, which the server operator must allow-list.
process.env.SIYU_CHANNEL_SECRET_ENV_ALLOW = 'LEASE_SECRET';

test('a slow channel with short leases: every message once', { timeout: 120_000 }, async () => {
  const { stores } = await openTestStores();
  const receiver = await startWebhookReceiver('lease-secret');
  const env = { ...process.env, LEASE_SECRET: 'lease-secret' };
  try {
    const ws = await new WorkspaceService(stores.state).create({ slug: uniqueSlug('lease'), name: 'lease' });
    const file = path.join(tempDir(), 'members.csv');
    fs.writeFileSync(file, ['member_no', ...Array.from({ length: 12 }, (_, i) => `L${i + 1}`)].join('\n') + '\n');
    await runImport(stores, { workspace: ws, kind: 'members', source: 'crm', files: [file] });
    await saveSegment(stores, ws.id, { key: 'all', name: { zh: '全部', en: 'All' }, conditions: [{ type: 'identifier', identifierType: 'member_no' }] });
    await saveChannel(stores, ws.id, { key: 'slow', kind: 'webhook', ratePerMinute: 120, concurrency: 1, config: { url: receiver.url, secretEnv: 'LEASE_SECRET' } });
    await savePolicy(stores, ws.id, { caps: [], quietHours: null });
    await savePlan(stores, ws.id, { key: 'slow_plan', name: 'slow', audience: { segment: 'all' }, channel: 'slow', variants: [{ key: 'A', template: { text: 'hi' } }] });
    await startPlan(stores, ws.id, 'slow_plan', env);
    await runDuePlans(stores);
    const dispatcher = planDispatcher(stores, { env, batch: 6, leaseSeconds: 1, idleMs: 50 });
    dispatcher.start();
    const settled = async () =>
      (await stores.state.db.selectFrom('deliveries').select('id').where('workspace_id', '=', ws.id).where('status', '=', 'queued').execute()).length === 0;
    for (let i = 0; i < 300 && !(await settled()); i++) await new Promise((r) => setTimeout(r, 100));
    await dispatcher.stop();
    assert.ok(await settled());
    const rows = await stores.state.db.selectFrom('deliveries').select(['status', 'attempts']).where('workspace_id', '=', ws.id).execute();
    assert.deepEqual(
      rows.map((r) => [r.status, r.attempts]),
      Array.from({ length: 12 }, () => ['delivered', 1]),
    );
    assert.equal(receiver.received.size, 12);
    assert.equal(receiver.requests, 12, 'no message went twice');
  } finally {
    await receiver.close();
    await stores.close();
  }
});
