import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { openTestStores, uniqueSlug } from '../../test/helpers.ts';
import type { Stores } from '../stores/stores.ts';
import { WorkspaceService, type Workspace } from '../access/workspaces.ts';
import { enqueueDeliveries, recordMessageEvents, type LedgerEntry } from './ledger.ts';

let stores: Stores;
let ws: Workspace;

before(async () => {
  ({ stores } = await openTestStores());
  ws = await new WorkspaceService(stores.state).create({ slug: uniqueSlug('ledger'), name: 'ledger' });
});
after(async () => {
  await stores.close();
});

const at = new Date('2026-11-24T02:00:00.123Z');

function entry(personId: number, status: LedgerEntry['status'], extra: Partial<LedgerEntry> = {}): LedgerEntry {
  return {
    workspaceId: ws.id,
    planKey: 'p',
    runId: 'run_ledger',
    personId,
    step: 'send',
    variant: 'A',
    channel: 'hook',
    purpose: 'marketing',
    status,
    reason: null,
    address: `+86139000000${personId}`,
    content: status === 'queued' ? JSON.stringify({ text: `hi ${personId}` }) : null,
    enteredAt: at,
    nextAttemptAt: status === 'queued' ? at : null,
    ...extra,
  };
}

async function events(plan: string) {
  return stores.facts.query<Record<string, string>>(
    `SELECT person_id, step, variant, channel, event, reason, toString(cost) AS cost, toString(at) AS at FROM message_events FINAL
     WHERE workspace_id = {ws:String} AND plan = {plan:String} ORDER BY person_id, event`,
    { ws: ws.id, plan },
  );
}

test('new ledger rows are written with an event each; a repeat of (run, person, step) writes no second row', async () => {
  const first = [entry(1, 'queued'), entry(2, 'control'), entry(3, 'stopped', { reason: 'consent: unsubscribed from hook' })];
  assert.equal(await enqueueDeliveries(stores, first), 3);
  // The same keys again (a pass that overlaps the last), one with another status: nothing changes.
  assert.equal(await enqueueDeliveries(stores, [entry(1, 'stopped', { reason: 'changed' }), entry(4, 'queued')]), 1);
  const rows = await stores.state.db
    .selectFrom('deliveries')
    .select(['person_id', 'status', 'reason', 'content'])
    .where('run_id', '=', 'run_ledger')
    .orderBy('person_id')
    .execute();
  assert.deepEqual(
    rows.map((r) => [Number(r.person_id), r.status, r.reason]),
    [
      [1, 'queued', null],
      [2, 'control', null],
      [3, 'stopped', 'consent: unsubscribed from hook'],
      [4, 'queued', null],
    ],
  );
  assert.deepEqual(rows[0].content, { text: 'hi 1' });
  // Events go first (a crash between the two repeats events, never loses them), so the repeat's own
  // event is there too; the ledger row is what counts.
  const written = await events('p');
  assert.deepEqual(
    written.filter((e) => Number(e.person_id) !== 1 || e.event === 'queued').map((e) => [Number(e.person_id), e.event, e.reason, e.cost, e.at]),
    [
      [1, 'queued', '', '0', '2026-11-24 02:00:00.123'],
      [2, 'control', '', '0', '2026-11-24 02:00:00.123'],
      [3, 'stopped', 'consent: unsubscribed from hook', '0', '2026-11-24 02:00:00.123'],
      [4, 'queued', '', '0', '2026-11-24 02:00:00.123'],
    ],
  );
  assert.equal(written.filter((e) => Number(e.person_id) === 1).length, 2);
  assert.equal(await enqueueDeliveries(stores, []), 0);
});

test('message events default to no reason and no cost, and keep what is given', async () => {
  await recordMessageEvents(stores, [
    { workspaceId: ws.id, plan: 'q', runId: 'run_q', personId: 7, step: 'send', variant: 'A', channel: 'hook', event: 'sent', cost: 0.05, at },
    { workspaceId: ws.id, plan: 'q', runId: 'run_q', personId: 7, step: 'send', variant: 'A', channel: 'hook', event: 'clicked', reason: 'https://shop.example.com/a', at },
  ]);
  await recordMessageEvents(stores, []);
  assert.deepEqual(
    (await events('q')).map((e) => [e.event, e.reason, e.cost, e.channel, e.variant]),
    [
      ['clicked', 'https://shop.example.com/a', '0', 'hook', 'A'],
      ['sent', '', '0.05', 'hook', 'A'],
    ],
  );
});
