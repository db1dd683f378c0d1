/**
 * Every path that writes the send ledger (deliveries) or message events — a plan run (queued,
 * control, stopped), the dispatcher (sent with its cost, failed, parked), a tracked click, a
 * journey (entry control, step arrivals, a send) and WeCom confirmations — writes the rows pinned in
 * test/golden/message-ledger.json (UPDATE_GOLDEN=1 rewrites it). Run ids, tokens and times are
 * replaced by stable labels; every other column is compared as stored.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { openTestStores, startTestServer, tempDir, uniqueSlug } from './helpers.ts';
import { WorkspaceService } from '../src/access/workspaces.ts';
import { runImport } from '../src/ingest/importer.ts';
import { saveSegment } from '../src/segments/segments.ts';
import { saveChannel } from '../src/channels/store.ts';
import { savePolicy, setConsent } from '../src/policy/policy.ts';
import { savePlan, startPlan } from '../src/plans/plans.ts';
import { runDuePlans } from '../src/plans/run.ts';
import { advanceJourneys, saveJourney, startJourney } from '../src/journeys/journeys.ts';
import { planDispatcher } from '../src/app/worker.ts';
import { pollWeComConfirmations } from '../src/delivery/wecom-confirmations.ts';
import { writeSecret } from '../src/secrets/secrets.ts';
import { startWebhookReceiver } from '../src/channels/testing/webhook-receiver.ts';
import { startWeComServer } from '../src/channels/testing/wecom-server.ts';

process.env.SIYU_ALLOW_PRIVATE_EGRESS = '1';
process.env.SIYU_CHANNEL_SECRET_ENV_ALLOW = 'LEDGER_WECOM_SECRET';

const SECRET = 'whsec_ledger';
const GOLDEN = path.resolve('test', 'golden', 'message-ledger.json');

test('every writer of the ledger and of message events writes the pinned rows', { timeout: 180_000 }, async () => {
  const { stores } = await openTestStores();
  const ok = await startWebhookReceiver(SECRET);
  const refusing = await startWebhookReceiver(SECRET);
  const busy = await startWebhookReceiver(SECRET);
  const wecom = await startWeComServer({ corpId: 'ww-ledger', corpSecret: 'wecom-secret' });
  const env = { ...process.env, LEDGER_WECOM_SECRET: 'wecom-secret' };
  try {
    const ws = await new WorkspaceService(stores.state).create({ slug: uniqueSlug('ledger'), name: 'ledger' });
    const dir = tempDir();
    // Eight members: M2 is staff (excluded), M8 has no phone (unreachable), M3 unsubscribes.
    const members = path.join(dir, 'members.csv');
    fs.writeFileSync(
      members,
      [
        'member_no,phone,name,level',
        ...Array.from({ length: 8 }, (_, i) => `M${i + 1},${i < 7 ? `1390000${String(i + 1).padStart(4, '0')}` : ''},会员${i + 1},${i === 1 ? '员工' : '金卡'}`),
      ].join('\n') + '\n',
    );
    await runImport(stores, { workspace: ws, kind: 'members', source: 'crm', files: [members] });
    const contacts = path.join(dir, 'contacts.csv');
    fs.writeFileSync(contacts, 'external_userid,staff_userid,name\nwl1,zhangsan,甲\nwl2,zhangsan,乙\nwl3,lisi,丙\n');
    await runImport(stores, { workspace: ws, kind: 'contacts', source: 'wecom', files: [contacts] });
    await saveSegment(stores, ws.id, { key: 'members', name: { zh: '会员', en: 'Members' }, conditions: [{ type: 'identifier', identifierType: 'member_no' }] });
    await saveSegment(stores, ws.id, { key: 'staff', name: { zh: '员工', en: 'Staff' }, conditions: [{ type: 'profile', field: 'level', op: 'eq', value: '员工' }] });
    await saveSegment(stores, ws.id, {
      key: 'friends',
      name: { zh: '企微好友', en: 'WeCom friends' },
      conditions: [{ type: 'identifier', identifierType: 'wecom_external_userid' }],
    });
    await writeSecret(stores, ws.id, 'ledger_secret', SECRET);
    await saveChannel(stores, ws.id, { key: 'hook', kind: 'webhook', address: 'phone', costPerMessage: 0.05, config: { url: ok.url, secret: 'ledger_secret' } });
    await saveChannel(stores, ws.id, { key: 'refusing', kind: 'webhook', address: 'phone', config: { url: refusing.url, secret: 'ledger_secret' } });
    await saveChannel(stores, ws.id, { key: 'busy', kind: 'webhook', address: 'phone', config: { url: busy.url, secret: 'ledger_secret' } });
    await saveChannel(stores, ws.id, {
      key: 'wecom',
      kind: 'wecom',
      config: { corpId: 'ww-ledger', corpSecretEnv: 'LEDGER_WECOM_SECRET', baseUrl: wecom.url, massMessageRule: 'one-per-day' },
    });
    await savePolicy(stores, ws.id, { caps: [], quietHours: null });
    const [m3] = await stores.facts.query<{ person_id: string }>(
      `SELECT person_id FROM person_identities FINAL WHERE workspace_id = {ws:String} AND type = 'member_no' AND value = 'M3'`,
      { ws: ws.id },
    );
    await setConsent(stores, ws.id, Number(m3.person_id), 'hook', 'revoked', 'test');

    const dispatcher = planDispatcher(stores, { env, backoffMs: 5, maxAttempts: 1 });
    const runPlan = async (key: string, channel: string, segment: string, extra: Record<string, unknown> = {}) => {
      await savePlan(stores, ws.id, {
        key,
        name: key,
        audience: { segment },
        channel,
        variants: [{ key: 'A', template: { text: '{{ person.name }}您好 {{ "https://shop.example.com/a" | track }}' } }],
        ...extra,
      });
      await startPlan(stores, ws.id, key, env);
      await runDuePlans(stores, { publicUrl: 'https://s.example.com', workspaceId: ws.id });
      await dispatcher.drain();
    };
    await runPlan('golden', 'hook', 'members', {
      audience: { segment: 'members', exclude: ['staff'] },
      controlPercent: 30,
      variants: [
        { key: 'A', template: { text: '{{ person.name }}您好 {{ "https://shop.example.com/a" | track }}，退订 {{ unsubscribe_url }}' } },
        { key: 'B', weight: 2, template: { text: '{{ person.name }}专享 {{ "https://shop.example.com/gold" | track }}' } },
      ],
    });
    refusing.failNext(1000, 400);
    await runPlan('refused', 'refusing', 'members');
    busy.failNext(1000, 503);
    await runPlan('parked', 'busy', 'members');
    await runPlan('wecom_push', 'wecom', 'friends');
    const task = [...wecom.tasks.values()].find((t) => t.sender === 'zhangsan')!;
    wecom.confirm(task.msgid);
    await pollWeComConfirmations(stores, { env, workspaceId: ws.id });

    // One tracked click, through the public redirect.
    const server = await startTestServer(stores);
    try {
      const links = [...ok.received.values()]
        .sort((a, b) => Number(a.personId) - Number(b.personId))
        .map((r) => /https:\/\/s\.example\.com(\/r\/[A-Za-z0-9_.-]+)/.exec(JSON.stringify(r.body))?.[1]);
      const clicked = links.find(Boolean)!;
      const answer = await fetch(`${server.base}${clicked}`, { redirect: 'manual' });
      assert.equal(answer.status, 302);
    } finally {
      await server.app.close();
    }

    await saveJourney(stores, ws.id, {
      key: 'flow',
      name: 'flow',
      entry: { segment: 'members' },
      first: 'hello',
      controlPercent: 25,
      steps: { hello: { type: 'send', channel: 'hook', template: { text: '欢迎 {{ person.name }}' }, next: 'done' }, done: { type: 'exit' } },
    });
    await startJourney(stores, ws.id, 'flow', env);
    await advanceJourneys(stores, { publicUrl: 'https://s.example.com' });
    await advanceJourneys(stores, { publicUrl: 'https://s.example.com' });
    await dispatcher.drain();
    await dispatcher.stop();

    // Run ids are random: each becomes the plan's key and its order among that plan's runs.
    const runs = await stores.state.db
      .selectFrom('plan_runs')
      .select(['id', 'plan_key', 'started_at'])
      .where('workspace_id', '=', ws.id)
      .orderBy('plan_key')
      .orderBy('started_at')
      .execute();
    const runLabel = new Map(runs.map((r, i) => [r.id, `${r.plan_key}#${runs.slice(0, i).filter((o) => o.plan_key === r.plan_key).length + 1}`]));
    const label = (id: string) => runLabel.get(id) ?? `unknown run ${id}`;
    const tokens = (text: string) => text.replace(/\/(u|r)\/[A-Za-z0-9_.-]+/g, '/$1/<token>');
    const events = await stores.facts.query<Record<string, string>>(
      `SELECT plan, run_id, person_id, step, variant, channel, event, reason, toString(cost) AS cost, at > now64(3) - INTERVAL 1 HOUR AS recent
       FROM message_events FINAL WHERE workspace_id = {ws:String}`,
      { ws: ws.id },
    );
    const deliveries = await stores.state.db.selectFrom('deliveries').selectAll().where('workspace_id', '=', ws.id).execute();
    const pinned = {
      message_events: events
        .map((e) => ({ ...e, run_id: label(e.run_id), reason: tokens(e.reason), recent: Number(e.recent) }))
        .map((e) => JSON.stringify(e))
        .sort(),
      deliveries: deliveries
        .map((d) => ({
          plan_key: d.plan_key,
          run_id: label(d.run_id),
          person_id: Number(d.person_id),
          step: d.step,
          variant: d.variant,
          channel: d.channel,
          purpose: d.purpose,
          status: d.status,
          reason: d.reason,
          attempts: d.attempts,
          address: d.address,
          content: d.content === null ? null : tokens(JSON.stringify(d.content)),
          provider_id: d.provider_id === null ? null : 'set',
          next_attempt_at: d.next_attempt_at === null ? null : 'set',
          lease_until: d.lease_until === null ? null : 'set',
          sent_at: d.sent_at === null ? null : 'set',
        }))
        .map((d) => JSON.stringify(d))
        .sort(),
    };
    const text = `${JSON.stringify(pinned, null, 1)}\n`;
    if (process.env.UPDATE_GOLDEN === '1') fs.writeFileSync(GOLDEN, text);
    assert.ok(fs.existsSync(GOLDEN), `${GOLDEN} is missing: run with UPDATE_GOLDEN=1`);
    assert.deepEqual(JSON.parse(text), JSON.parse(fs.readFileSync(GOLDEN, 'utf8')), 'the ledger or message events changed; review and run with UPDATE_GOLDEN=1');
  } finally {
    await ok.close();
    await refusing.close();
    await busy.close();
    await wecom.close();
    await stores.close();
  }
});
