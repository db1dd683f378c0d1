/**
 * A journey end to end: segment entry with a control group, a send, a wait until 10:00 the next day,
 * a branch on behaviour, an A/B split, a tag, a staff task — with the stores closed and reopened
 * between the steps (positions live in the state store), over HTTP and the webhook channel.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { callApi, openTestStores, startTestServer, tempDir, uniqueSlug } from './helpers.ts';
import { WorkspaceService } from '../src/access/workspaces.ts';
import { ApiKeyService } from '../src/access/keys.ts';
import { runImport } from '../src/ingest/importer.ts';
import { saveSegment } from '../src/segments/segments.ts';
import { saveChannel } from '../src/channels/store.ts';
import { savePolicy } from '../src/policy/policy.ts';
import { saveTag } from '../src/tags/store.ts';
import { advanceJourneys, journeyPositions } from '../src/journeys/journeys.ts';
import { planDispatcher } from '../src/app/worker.ts';
import { startWebhookReceiver } from '../src/channels/testing/webhook-receiver.ts';

// The contract servers listen on loopback, which outbound HTTP and SMTP refuse unless the server
// operator allows private egress: this test process (and the servers it spawns) allows it.
process.env.SIYU_ALLOW_PRIVATE_EGRESS = '1';
// These suites keep the older environment-variable secrets, which the server operator must allow-list.
process.env.SIYU_CHANNEL_SECRET_ENV_ALLOW = 'JOURNEY_SECRET';

process.env.JOURNEY_SECRET = 'journey-secret';
const PEOPLE = 200;

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

const journey = {
  key: 'welcome_flow',
  name: '新会员欢迎流程',
  entry: { segment: 'members' },
  first: 'welcome',
  controlPercent: 10,
  goal: { kind: 'order', windowDays: 7 },
  steps: {
    welcome: { type: 'send', channel: 'hook', template: { text: '欢迎加入，{{ person.name }}' }, next: 'wait_day' },
    wait_day: { type: 'wait', days: 1, untilTime: '10:00', next: 'bought' },
    bought: { type: 'branch', conditions: [{ type: 'orders', window: { days: 3 } }], yes: 'thanks', no: 'split' },
    thanks: { type: 'send', channel: 'hook', template: { text: '谢谢惠顾' }, next: 'done' },
    split: {
      type: 'split',
      branches: [
        { weight: 1, next: 'nudge' },
        { weight: 1, next: 'call' },
      ],
    },
    nudge: { type: 'send', channel: 'hook', template: { text: '新人券 {{ "https://shop.example.com/c" | track }}' }, next: 'mark' },
    mark: { type: 'tag', tag: 'nudged', value: 'yes', next: 'done' },
    call: { type: 'task', title: '给新会员打个电话', next: 'done' },
    done: { type: 'exit' },
  },
};

test('a journey moves people step by step, keeps their positions across a restart, and reports per step', { timeout: 180_000 }, async () => {
  const dataDir = tempDir();
  const receiver = await startWebhookReceiver('journey-secret');
  let { stores } = await openTestStores(dataDir);
  const ws = await new WorkspaceService(stores.state).create({ slug: uniqueSlug('journeys'), name: 'journeys' });
  const token = (await new ApiKeyService(stores.state).create(ws.id, 'ops', 'operator')).token;
  const file = path.join(tempDir(), 'members.csv');
  fs.writeFileSync(file, ['member_no,phone,name', ...Array.from({ length: PEOPLE }, (_, i) => `J${i + 1},1370${String(i + 1).padStart(7, '0')},会员${i + 1}`)].join('\n') + '\n');
  await runImport(stores, { workspace: ws, kind: 'members', source: 'crm', files: [file] });
  await saveSegment(stores, ws.id, { key: 'members', name: { zh: '会员', en: 'Members' }, conditions: [{ type: 'identifier', identifierType: 'member_no' }] });
  await saveChannel(stores, ws.id, { key: 'hook', kind: 'webhook', address: 'phone', config: { url: receiver.url, secretEnv: 'JOURNEY_SECRET' } });
  await savePolicy(stores, ws.id, { caps: [], quietHours: null });
  await saveTag(stores, ws.id, { key: 'nudged', name: { zh: '已提醒', en: 'Nudged' }, kind: 'manual', valueType: 'string' });

  let server = await startTestServer(stores);
  const call = (method: string, route: string, body?: unknown) => callApi(server.base, method, route, token, body);
  const loop = await call('POST', '/api/v1/journeys', {
    ...journey,
    key: 'loop',
    steps: {
      ...journey.steps,
      done: {
        type: 'split',
        branches: [
          { weight: 1, next: 'welcome' },
          { weight: 1, next: 'thanks' },
        ],
      },
    },
  });
  assert.equal(loop.status, 400);
  assert.match(loop.json.error.message, /has no wait/);
  const unknownStep = await call('POST', '/api/v1/journeys', { ...journey, key: 'broken', first: 'nowhere' });
  assert.match(unknownStep.json.error.message, /^body\.first: no step "nowhere"/);
  assert.equal((await call('POST', '/api/v1/journeys', journey)).status, 201);
  assert.equal((await call('POST', '/api/v1/journeys/welcome_flow/start')).json.status, 'running');

  // Tick 1: everyone enters; the treated get the welcome and wait until 10:00 the day after tomorrow's start.
  const start = new Date();
  const tick1 = await advanceJourneys(stores, { publicUrl: server.base, now: () => start });
  assert.equal(tick1.entered, PEOPLE);
  const positions = await journeyPositions(stores, ws.id, 'welcome_flow');
  const control = positions.find((p) => p.step === 'control')?.people ?? 0;
  assert.ok(control > 5 && control < 40, `control ${control}`);
  assert.deepEqual(
    positions.filter((p) => p.step !== 'control'),
    [{ step: 'wait_day', status: 'active', people: PEOPLE - control }],
  );
  const [due] = await stores.state.db.selectFrom('journey_positions').select('due_at').where('workspace_id', '=', ws.id).where('step', '=', 'wait_day').limit(1).execute();
  assert.equal(shanghai(new Date(due.due_at)).slice(11), '10:00:00');
  assert.ok(new Date(due.due_at).getTime() - start.getTime() >= 86_400_000);
  assert.equal((await advanceJourneys(stores, { now: () => start })).moved, 0, 'nobody is due again yet');

  // The process stops; the first 40 members buy; the stores open again.
  await server.app.close();
  await stores.close();
  ({ stores } = await openTestStores(dataDir));
  server = await startTestServer(stores);
  const orders = ['order_id,ordered_at,amount,member_no', ...Array.from({ length: 40 }, (_, i) => `JO${i + 1},${shanghai(new Date(Date.now() - 3_600_000))},99,J${i + 1}`)];
  fs.writeFileSync(path.join(dataDir, 'orders.csv'), orders.join('\n') + '\n');
  await runImport(stores, { workspace: ws, kind: 'orders', source: 'erp', files: [path.join(dataDir, 'orders.csv')] });

  // Tick 2, after the wait: buyers are thanked; the others split between a coupon (and a tag) and a call task.
  const after = new Date(new Date(due.due_at).getTime() + 60_000);
  await advanceJourneys(stores, { publicUrl: server.base, now: () => after });
  const finished = await journeyPositions(stores, ws.id, 'welcome_flow');
  assert.deepEqual(
    finished.filter((p) => p.status === 'active'),
    [],
  );
  await stores.state.db.updateTable('deliveries').set({ next_attempt_at: new Date() }).where('workspace_id', '=', ws.id).where('status', '=', 'queued').execute();
  const dispatcher = planDispatcher(stores);
  await dispatcher.drain();
  await dispatcher.stop();

  const ledger = await stores.state.db.selectFrom('deliveries').select(['person_id', 'step', 'status']).where('workspace_id', '=', ws.id).execute();
  const byStep = (step: string) => ledger.filter((l) => l.step === step);
  assert.equal(byStep('welcome').length, PEOPLE - control);
  assert.equal(byStep('entry').length, control, 'the control group is in the ledger');
  const buyers = byStep('thanks').length;
  const nudged = byStep('nudge').length;
  const tasks = await stores.state.db.selectFrom('staff_tasks').select(['person_id', 'title', 'source']).where('workspace_id', '=', ws.id).execute();
  assert.ok(buyers > 25 && buyers <= 40, `buyers thanked: ${buyers}`);
  assert.equal(buyers + nudged + tasks.length, PEOPLE - control);
  assert.ok(nudged > 30 && tasks.length > 30, `split ${nudged}/${tasks.length}`);
  assert.equal(tasks[0].title, '给新会员打个电话');
  assert.equal(tasks[0].source, 'journey:welcome_flow:call');
  assert.ok(ledger.every((l) => l.status === 'delivered' || l.status === 'control'));
  assert.equal(receiver.received.size, PEOPLE - control + buyers + nudged, 'every send arrived once');
  const tagged = await stores.state.db.selectFrom('manual_tag_values').select('person_id').where('workspace_id', '=', ws.id).where('tag_key', '=', 'nudged').execute();
  assert.deepEqual(new Set(tagged.map((t) => Number(t.person_id))), new Set(byStep('nudge').map((l) => Number(l.person_id))));

  const report = await call('GET', '/api/v1/journeys/welcome_flow/report');
  assert.equal(report.status, 200);
  const group = (name: string) => report.json.groups.find((g: { group: string }) => g.group === name);
  assert.equal(group('welcome').sent, PEOPLE - control);
  assert.equal(group('bought').audience, PEOPLE - control, 'everyone treated reached the branch');
  assert.equal(group('thanks').sent, buyers);
  assert.equal(group('control').audience, control);
  const shown = await call('GET', '/api/v1/journeys/welcome_flow');
  assert.equal(shown.json.positions.find((p: { step: string }) => p.step === 'done').people, PEOPLE - control);
  await server.app.close();
  await receiver.close();
  await stores.close();
});

test('a wait until a date of the person (the day before their birthday, 10:00) and on at once without one', async () => {
  const { stores } = await openTestStores();
  const ws = await new WorkspaceService(stores.state).create({ slug: uniqueSlug('birthday'), name: 'birthday' });
  const inTenDays = new Date(Date.now() + 10 * 86_400_000);
  const monthDay = shanghai(inTenDays).slice(5, 10);
  const file = path.join(tempDir(), 'members.csv');
  fs.writeFileSync(file, `member_no,phone,birthday\nB1,13800000001,1990-${monthDay}\nB2,13800000002,\n`);
  await runImport(stores, { workspace: ws, kind: 'members', source: 'crm', files: [file] });
  await saveSegment(stores, ws.id, { key: 'members', name: { zh: '会员', en: 'Members' }, conditions: [{ type: 'identifier', identifierType: 'member_no' }] });
  await saveChannel(stores, ws.id, { key: 'hook', kind: 'webhook', config: { url: 'http://127.0.0.1:9/', secretEnv: 'JOURNEY_SECRET' } });
  const { saveJourney, startJourney } = await import('../src/journeys/journeys.ts');
  await saveJourney(stores, ws.id, {
    key: 'birthday',
    name: '生日关怀',
    entry: { segment: 'members' },
    first: 'eve',
    steps: {
      eve: { type: 'wait', untilDate: { profile: 'birthday', annual: true, offsetDays: -1 }, untilTime: '10:00', next: 'greet' },
      greet: { type: 'send', channel: 'hook', template: { text: '生日快乐' } },
    },
  });
  await startJourney(stores, ws.id, 'birthday');
  await advanceJourneys(stores);
  const rows = await stores.state.db
    .selectFrom('journey_positions')
    .select(['person_id', 'step', 'status', 'due_at'])
    .where('workspace_id', '=', ws.id)
    .orderBy('person_id')
    .execute();
  const [withBirthday, without] = rows;
  assert.equal(withBirthday.step, 'eve');
  assert.equal(withBirthday.status, 'active');
  const expected = shanghai(new Date(inTenDays.getTime() - 86_400_000)).slice(0, 10) + ' 10:00:00';
  assert.equal(shanghai(new Date(withBirthday.due_at)), expected);
  assert.deepEqual([without.step, without.status], ['greet', 'done'], 'no birthday: on at once, and the send was queued');
  await stores.close();
});
