import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { openTestStores, tempDir, uniqueSlug } from './helpers.ts';
import type { Stores } from '../src/stores/stores.ts';
import { WorkspaceService, type Workspace } from '../src/access/workspaces.ts';
import { runImport } from '../src/ingest/importer.ts';
import { saveSegment } from '../src/segments/segments.ts';
import { saveChannel } from '../src/channels/store.ts';
import { savePolicy, setConsent } from '../src/policy/policy.ts';
import { savePlan, startPlan, getPlan } from '../src/plans/plans.ts';
import { runDuePlans, assignGroup } from '../src/plans/run.ts';
import { planReport } from '../src/plans/report.ts';
import type { Dispatcher } from '../src/delivery/dispatcher.ts';
import { planDispatcher } from '../src/app/worker.ts';
import { deleteSecret, writeSecret } from '../src/secrets/secrets.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../src/channels/testing/webhook-receiver.ts';

// The contract servers listen on loopback, which outbound HTTP and SMTP refuse unless the server
// operator allows private egress: this test process (and the servers it spawns) allows it.
process.env.SIYU_ALLOW_PRIVATE_EGRESS = '1';

const SECRET = 'whsec_test_plans';
const env = process.env;
let stores: Stores;
let ws: Workspace;
let receiver: WebhookReceiver;
const dir = tempDir();

/** "2026-11-24 10:00" as the wall clock in Shanghai shows an instant. */
function shanghai(at: Date): string {
  return new Intl.DateTimeFormat('sv-SE', {
    timeZone: 'Asia/Shanghai',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).format(at);
}

before(async () => {
  ({ stores } = await openTestStores());
  ws = await new WorkspaceService(stores.state).create({ slug: uniqueSlug('plans'), name: 'plans' });
  receiver = await startWebhookReceiver(SECRET);
  // 300 members; the last 20 have no phone.
  const lines = ['member_no,phone,name,city,level'];
  for (let i = 1; i <= 300; i++) lines.push(`M${i},${i <= 280 ? `1390000${String(i).padStart(4, '0')}` : ''},会员${i},${i % 2 ? '上海' : ''},${i === 1 ? '员工' : '金卡'}`);
  const members = path.join(dir, 'members.csv');
  fs.writeFileSync(members, lines.join('\n') + '\n');
  await runImport(stores, { workspace: ws, kind: 'members', source: 'crm', files: [members] });
  await saveSegment(stores, ws.id, { key: 'gold', name: { zh: '金卡', en: 'Gold' }, conditions: [{ type: 'identifier', identifierType: 'member_no' }] });
  await saveSegment(stores, ws.id, { key: 'vip_staff', name: { zh: '员工', en: 'Staff' }, conditions: [{ type: 'profile', field: 'level', op: 'eq', value: '员工' }] });
  // The webhook's signing secret lives in the workspace's secret store, named by the channel.
  await writeSecret(stores, ws.id, 'plans_test_secret', SECRET);
  await saveChannel(stores, ws.id, { key: 'sms_relay', kind: 'webhook', address: 'phone', costPerMessage: 0.05, config: { url: receiver.url, secret: 'plans_test_secret' } });
  await savePolicy(stores, ws.id, { caps: [{ channels: ['*'], windowHours: 24, max: 1 }], quietHours: null });
});
after(async () => {
  await receiver.close();
  await stores.close();
});

async function personOf(memberNo: string): Promise<number> {
  const [row] = await stores.facts.query<{ person_id: string }>(
    `SELECT person_id FROM person_identities FINAL WHERE workspace_id = {ws:String} AND type = 'member_no' AND value = {v:String}`,
    { ws: ws.id, v: memberNo },
  );
  return Number(row.person_id);
}

async function dispatchAll(dispatcher: Dispatcher) {
  // A send slowed past its timeout on a loaded machine is retried after a backoff: wait for that
  // retry (up to a minute) rather than failing on how busy the machine is.
  for (const deadline = Date.now() + 60_000; Date.now() < deadline; ) {
    await dispatcher.drain();
    const left = await stores.state.db.selectFrom('deliveries').select('id').where('workspace_id', '=', ws.id).where('status', '=', 'queued').limit(1).execute();
    if (left.length === 0) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.fail('the queue did not drain');
}

const plan = {
  key: 'welcome_gold',
  name: '金卡回馈',
  audience: { segment: 'gold', exclude: ['vip_staff'] },
  channel: 'sms_relay',
  variants: [
    { key: 'A', template: { text: '{{ person.name }}您好，{{ person.city | default: "您所在城市" }}门店本周会员日。退订 {{ unsubscribe_url }}' } },
    { key: 'B', weight: 1, template: { text: '{{ person.name }}，金卡专享 9 折：{{ "https://shop.example.com/gold" | track }}' } },
  ],
  controlPercent: 20,
  goal: { kind: 'order', windowDays: 7 },
};

test('a template that reads an unknown tag or field fails before the plan exists, naming the field', async () => {
  await assert.rejects(
    savePlan(stores, ws.id, { ...plan, key: 'broken', variants: [{ key: 'A', template: { text: 'hi {{ tags.nope }}' } }] }),
    /variants\[0\]\.template\.text: unknown tag \{\{ tags\.nope \}\}/,
  );
  await assert.rejects(
    savePlan(stores, ws.id, { ...plan, key: 'broken', variants: [{ key: 'A', template: { text: 'hi {{ person.shoe_size }}' } }] }),
    /unknown field \{\{ person\.shoe_size \}\}/,
  );
  await assert.rejects(
    savePlan(stores, ws.id, { ...plan, key: 'broken', variants: [{ key: 'A', template: { text: 'hi {% if %}' } }] }),
    /variants\[0\]\.template\.text: not valid Liquid/,
  );
});

test('a one-off plan reaches every eligible person exactly once, holds out a control group, records what policy stopped, and reports lift', async () => {
  const unsubscribed = await Promise.all(['M10', 'M11', 'M12'].map(personOf));
  for (const p of unsubscribed) await setConsent(stores, ws.id, p, 'sms_relay', 'revoked', 'test');
  await savePlan(stores, ws.id, plan);
  // A channel whose secret is gone cannot start a plan.
  await deleteSecret(stores, ws.id, 'plans_test_secret');
  await assert.rejects(startPlan(stores, ws.id, 'welcome_gold'), /the secret "plans_test_secret" \(config\.secret\) is not set in this workspace/);
  await writeSecret(stores, ws.id, 'plans_test_secret', SECRET);
  await startPlan(stores, ws.id, 'welcome_gold', env);
  receiver.failNext(25, 503);
  const [summary] = await runDuePlans(stores, { publicUrl: 'https://siyu.example.com', workspaceId: ws.id });
  assert.equal(summary.audience, 300);
  assert.equal((await runDuePlans(stores, { workspaceId: ws.id })).length, 0, 'a slot runs once');

  const dispatcher = planDispatcher(stores, { env, backoffMs: 5 });
  await dispatchAll(dispatcher);

  const ledger = await stores.state.db.selectFrom('deliveries').selectAll().where('workspace_id', '=', ws.id).where('plan_key', '=', 'welcome_gold').execute();
  assert.equal(ledger.length, 300);
  const staff = await personOf('M1');
  const byPerson = new Map(ledger.map((l) => [Number(l.person_id), l]));
  assert.equal(byPerson.get(staff)?.reason, 'excluded: in segment vip_staff');
  for (const p of unsubscribed) assert.equal(byPerson.get(p)?.reason, 'consent: unsubscribed from sms_relay');
  assert.equal(byPerson.get(await personOf('M290'))?.reason, 'unreachable: no phone');
  const stopped = ledger.filter((l) => l.status === 'stopped');
  assert.equal(stopped.length, 1 + 3 + 20);
  // The split is the hash of (plan, person), and control gets nothing.
  for (const l of ledger)
    assert.equal(
      l.variant,
      assignGroup(
        {
          key: 'welcome_gold',
          controlPercent: 20,
          variants: [
            { key: 'A', weight: 1, template: {} },
            { key: 'B', weight: 1, template: {} },
          ],
        },
        Number(l.person_id),
      ),
    );
  const control = ledger.filter((l) => l.status === 'control');
  const delivered = ledger.filter((l) => l.status === 'delivered');
  assert.ok(control.length > 30 && control.length < 90, `control ${control.length} of 276`);
  assert.equal(delivered.length + control.length, 276);
  assert.ok(
    delivered.some((l) => l.attempts > 1),
    'the 503s were retried',
  );

  // Every delivered person received exactly one message, and no one else received any.
  assert.equal(receiver.received.size, delivered.length);
  assert.equal(receiver.requests, delivered.length, 'no message was sent twice');
  assert.equal(receiver.badSignatures, 0);
  const got = new Set([...receiver.received.values()].map((r) => Number(r.personId)));
  assert.deepEqual(got, new Set(delivered.map((l) => Number(l.person_id))));
  const one = [...receiver.received.values()].find((r) => r.body.variant === 'A')!;
  const text = (one.body.content as { text: string }).text;
  assert.match(text, /^会员\d+您好，(上海|您所在城市)门店本周会员日。退订 https:\/\/siyu\.example\.com\/u\/ws_\w+\.\w+\.sms_relay\.[\w-]{12}$/);
  assert.match(String(one.body.address), /^\+86139/);
  const b = [...receiver.received.values()].find((r) => r.body.variant === 'B')!;
  assert.match((b.body.content as { text: string }).text, /金卡专享 9 折：https:\/\/siyu\.example\.com\/r\//);
  assert.equal((await getPlan(stores, ws.id, 'welcome_gold')).status, 'completed');

  // Orders after the send: the first 60 members buy once each.
  const soon = shanghai(new Date(Date.now() + 3_600_000));
  const orders = ['order_id,ordered_at,amount,member_no'];
  for (let i = 1; i <= 60; i++) orders.push(`W${i},${soon},${100 + i},M${i}`);
  const file = path.join(dir, 'orders.csv');
  fs.writeFileSync(file, orders.join('\n') + '\n');
  await runImport(stores, { workspace: ws, kind: 'orders', source: 'erp', files: [file] });

  const report = await planReport(stores, ws.id, 'welcome_gold');
  assert.deepEqual(
    report.runs.map((r) => [r.slot, r.status, r.audience]),
    [['once', 'completed', 300]],
  );
  const expected = new Map<string, { converted: number; revenue: number }>();
  for (let i = 1; i <= 60; i++) {
    const row = byPerson.get(await personOf(`M${i}`))!;
    if (row.status === 'stopped') continue;
    const e = expected.get(row.variant) ?? { converted: 0, revenue: 0 };
    e.converted++;
    e.revenue += 100 + i;
    expected.set(row.variant, e);
  }
  for (const group of report.groups) {
    const rows = ledger.filter((l) => l.variant === group.group);
    assert.equal(group.audience, rows.length, group.group);
    assert.equal(group.stopped, rows.filter((l) => l.status === 'stopped').length);
    assert.equal(group.converted, expected.get(group.group)?.converted ?? 0, `converted in ${group.group}`);
    assert.equal(group.revenue, expected.get(group.group)?.revenue ?? 0);
    if (group.group === 'control') {
      assert.equal(group.sent, 0);
      assert.equal(group.lift, null);
    } else {
      assert.equal(group.sent, rows.filter((l) => l.status === 'delivered').length);
      assert.equal(group.delivered, group.sent);
      assert.ok(Math.abs(group.cost - group.sent * 0.05) < 1e-9);
      assert.ok(group.lift && group.lift.absoluteCi.low <= group.lift.absolute && group.lift.absolute <= group.lift.absoluteCi.high);
    }
  }
  assert.deepEqual(report.stoppedBy.map((s) => s.reason).sort(), ['consent: unsubscribed from sms_relay', 'excluded: in segment vip_staff', 'unreachable: no phone']);

  // A second plan to the same people the same day: the cap (1 a day) stops everyone who got the first.
  await savePlan(stores, ws.id, { ...plan, key: 'second_touch', controlPercent: 0, variants: [plan.variants[0]] });
  await startPlan(stores, ws.id, 'second_touch', env);
  await runDuePlans(stores, { workspaceId: ws.id });
  await dispatchAll(dispatcher);
  const second = await stores.state.db.selectFrom('deliveries').selectAll().where('workspace_id', '=', ws.id).where('plan_key', '=', 'second_touch').execute();
  const capped = second.filter((l) => l.reason === 'cap: 1 per 24 h on *');
  assert.deepEqual(new Set(capped.map((l) => Number(l.person_id))), new Set(delivered.map((l) => Number(l.person_id))));
  // Control people were sent nothing before, so they get this one.
  assert.equal(second.filter((l) => l.status === 'delivered').length, control.length);
  await dispatcher.stop();
});

test('a recurring plan runs each cron slot once, in the workspace time zone; "enter once" keeps earlier entrants out', async () => {
  await savePlan(stores, ws.id, {
    ...plan,
    key: 'weekly_gold',
    controlPercent: 0,
    audience: { segment: 'gold' },
    variants: [plan.variants[0]],
    schedule: { kind: 'recurring', cron: '0 10 * * *', enterOnce: true },
  });
  await assert.rejects(savePlan(stores, ws.id, { ...plan, key: 'bad_cron', schedule: { kind: 'recurring', cron: '0 10 * *' } }), /expected 5 fields/);
  const started = await startPlan(stores, ws.id, 'weekly_gold', env);
  assert.equal(started.status, 'scheduled');
  const slot = new Date(started.nextRunAt!);
  assert.equal(shanghai(slot).slice(11), '10:00:00', 'the cron is read in Asia/Shanghai');
  const at = (ms: number) => ({ now: () => new Date(slot.getTime() + ms), workspaceId: ws.id });
  assert.equal((await runDuePlans(stores, at(-60_000))).length, 0, 'not due a minute early');
  const [first] = await runDuePlans(stores, at(60_000));
  assert.equal(first.audience, 300);
  assert.equal((await runDuePlans(stores, at(120_000))).length, 0, 'one run per slot');
  const next = await getPlan(stores, ws.id, 'weekly_gold');
  assert.equal(next.status, 'scheduled');
  assert.equal(new Date(next.nextRunAt!).getTime() - slot.getTime(), 86_400_000);
  const [second] = await runDuePlans(stores, at(86_400_000 + 60_000));
  const rows = await stores.state.db
    .selectFrom('deliveries')
    .select(['run_id', 'person_id', 'status', 'reason'])
    .where('workspace_id', '=', ws.id)
    .where('plan_key', '=', 'weekly_gold')
    .execute();
  const firstRun = new Map(rows.filter((r) => r.run_id === first.runId).map((r) => [Number(r.person_id), r]));
  const entered = [...firstRun.values()].filter((r) => r.status !== 'stopped');
  assert.ok(entered.length > 0);
  assert.equal(rows.filter((r) => r.run_id === second.runId && r.reason === 'excluded: entered an earlier run (enter once)').length, entered.length);
  // Who enters the second run is who the first run's caps held back (the earlier plans sent to them that day).
  const secondQueued = rows.filter((r) => r.run_id === second.runId && r.status === 'queued');
  assert.ok(secondQueued.length > 0);
  for (const r of secondQueued) assert.match(firstRun.get(Number(r.person_id))?.reason ?? '', /^cap: /);
  await stores.state.db
    .updateTable('deliveries')
    .set({ status: 'stopped', reason: 'test cleanup' })
    .where('plan_key', '=', 'weekly_gold')
    .where('workspace_id', '=', ws.id)
    .where('status', '=', 'queued')
    .execute();
});

test('a one-off plan at a time waits for it, then runs once', async () => {
  const at = new Date(Date.now() + 3 * 3_600_000);
  await savePlan(stores, ws.id, { ...plan, key: 'at_three', controlPercent: 0, variants: [plan.variants[0]], schedule: { kind: 'once', at: at.toISOString() } });
  const started = await startPlan(stores, ws.id, 'at_three', env);
  assert.deepEqual([started.status, started.nextRunAt], ['scheduled', at.toISOString()]);
  assert.equal((await runDuePlans(stores, { now: () => new Date(at.getTime() - 1000), workspaceId: ws.id })).length, 0);
  const [run] = await runDuePlans(stores, { now: () => new Date(at.getTime() + 1000), workspaceId: ws.id });
  assert.equal(run.plan, 'at_three');
  assert.equal((await getPlan(stores, ws.id, 'at_three')).status, 'running');
  assert.equal((await runDuePlans(stores, { now: () => new Date(at.getTime() + 60_000), workspaceId: ws.id })).length, 0);
  await stores.state.db
    .updateTable('deliveries')
    .set({ status: 'stopped', reason: 'test cleanup' })
    .where('plan_key', '=', 'at_three')
    .where('workspace_id', '=', ws.id)
    .where('status', '=', 'queued')
    .execute();
});
