/**
 * Plans through the platform channels, each against a local server that speaks its contract: the
 * mini-program (subscribe messages: a person without quota is parked, not retried; an expired token
 * is refreshed) and email over SMTP.
 */
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
import { savePolicy } from '../src/policy/policy.ts';
import { savePlan, startPlan } from '../src/plans/plans.ts';
import { runDuePlans } from '../src/plans/run.ts';
import { planDispatcher } from '../src/app/worker.ts';
import { startWeChatServer, type WeChatServer } from '../src/channels/testing/wechat-server.ts';
import { startSmtpServer, type SmtpTestServer } from '../src/channels/testing/smtp-server.ts';
import { startWeComServer, type WeComServer } from '../src/channels/testing/wecom-server.ts';
import { pollWeComConfirmations } from '../src/delivery/wecom-confirmations.ts';

// The contract servers listen on loopback, which outbound HTTP and SMTP refuse unless the server
// operator allows private egress: this test process (and the servers it spawns) allows it.
process.env.SIYU_ALLOW_PRIVATE_EGRESS = '1';
// These suites keep the older environment-variable secrets, which the server operator must allow-list.
process.env.SIYU_CHANNEL_SECRET_ENV_ALLOW = 'MP_SECRET,WECOM_SECRET';

let stores: Stores;
let ws: Workspace;
let wechat: WeChatServer;
let smtp: SmtpTestServer;
let wecom: WeComServer;
let env: NodeJS.ProcessEnv;

before(async () => {
  ({ stores } = await openTestStores());
  ws = await new WorkspaceService(stores.state).create({ slug: uniqueSlug('channels'), name: 'channels' });
  wechat = await startWeChatServer({ appId: 'wxapp1', appSecret: 'mp-secret' });
  smtp = await startSmtpServer();
  wecom = await startWeComServer({ corpId: 'ww-corp', corpSecret: 'wecom-secret' });
  env = { ...process.env, MP_SECRET: 'mp-secret', WECOM_SECRET: 'wecom-secret' };
  const file = path.join(tempDir(), 'members.csv');
  fs.writeFileSync(file, 'member_no,openid,email,name\nK1,oid-1,k1@example.com,周一\nK2,oid-2,k2@example.com,吴二\nK3,oid-3,k3@example.com,郑三\nK4,oid-4,k4@example.com,王四\n');
  await runImport(stores, { workspace: ws, kind: 'members', source: 'miniapp', files: [file] });
  await saveSegment(stores, ws.id, { key: 'all_members', name: { zh: '会员', en: 'Members' }, conditions: [{ type: 'identifier', identifierType: 'member_no' }] });
  await savePolicy(stores, ws.id, { caps: [], quietHours: null });
  await saveChannel(stores, ws.id, { key: 'mp', kind: 'miniprogram', config: { appId: 'wxapp1', appSecretEnv: 'MP_SECRET', baseUrl: wechat.url } });
  await saveChannel(stores, ws.id, {
    key: 'mail',
    kind: 'email',
    config: { host: smtp.host, port: smtp.port, from: '燕语 <crm@brand.example>', messageIdDomain: 'brand.example' },
  });
});
after(async () => {
  await wechat.close();
  await smtp.close();
  await wecom.close();
  await stores.close();
});

async function runPlan(key: string, channel: string, template: Record<string, string>, segment = 'all_members') {
  await savePlan(stores, ws.id, { key, name: key, audience: { segment }, channel, variants: [{ key: 'A', template }] });
  await startPlan(stores, ws.id, key, env);
  await runDuePlans(stores, { publicUrl: 'https://s.example.com' });
  const dispatcher = planDispatcher(stores, { env, backoffMs: 5 });
  await dispatcher.drain();
  await dispatcher.stop();
  return stores.state.db
    .selectFrom('deliveries')
    .select(['person_id', 'status', 'reason', 'address', 'attempts'])
    .where('workspace_id', '=', ws.id)
    .where('plan_key', '=', key)
    .orderBy('address')
    .execute();
}

test('mini-program subscribe messages: no quota parks the person, an expired token is refreshed once', async () => {
  wechat.enforceSubscriptionQuota = true;
  for (const openid of ['oid-1', 'oid-2', 'oid-3']) wechat.grantSubscription(openid, 'TPL_ARRIVAL');
  const ledger = await runPlan('mp_notice', 'mp', {
    template_id: 'TPL_ARRIVAL',
    page: 'pages/new/index',
    'data.thing1': '{{ person.name }}，新品到店',
    'data.time2': '2026-11-25',
  });
  assert.deepEqual(
    ledger.map((l) => [l.address, l.status]),
    [
      ['oid-1', 'sent'],
      ['oid-2', 'sent'],
      ['oid-3', 'sent'],
      ['oid-4', 'parked'],
    ],
  );
  assert.match(ledger[3].reason ?? '', /43101/);
  assert.equal(ledger[3].attempts, 1, 'no quota is not retried');
  assert.deepEqual(wechat.delivered.map((d) => [d.touser, (d.body.data as Record<string, { value: string }>).thing1.value]).sort(), [
    ['oid-1', '周一，新品到店'],
    ['oid-2', '吴二，新品到店'],
    ['oid-3', '郑三，新品到店'],
  ]);

  // Tokens expire while the client holds one: the next plan refreshes it and every send still lands.
  for (const openid of ['oid-1', 'oid-2']) wechat.grantSubscription(openid, 'TPL_ARRIVAL');
  const before = wechat.tokenRequests;
  wechat.expireTokens();
  await savePolicy(stores, ws.id, { caps: [], quietHours: null });
  const again = await runPlan('mp_notice_2', 'mp', { template_id: 'TPL_ARRIVAL', 'data.thing1': '{{ person.name }}' });
  assert.deepEqual(
    again.filter((l) => l.status === 'sent').map((l) => l.address),
    ['oid-1', 'oid-2'],
  );
  assert.ok(wechat.tokenRequests > before, 'a new token was fetched');
});

test('email over SMTP: one mail per person with the rendered subject and a Message-ID from the delivery id', async () => {
  const ledger = await runPlan('mail_notice', 'mail', { subject: '{{ person.name }}，您的会员礼遇', text: '亲爱的{{ person.name }}：本周会员日。退订：{{ unsubscribe_url }}' });
  assert.deepEqual(
    ledger.map((l) => l.status),
    ['sent', 'sent', 'sent', 'sent'],
  );
  assert.equal(smtp.received.length, 4);
  const mail = smtp.received.find((m) => m.to.includes('k2@example.com'))!;
  assert.match(mail.headers['message-id'] ?? '', /@brand\.example>$/);
  assert.match(mail.raw, /Subject: =\?UTF-8\?/);
  // The body is quoted-printable: undo soft line breaks and =XX escapes.
  const body = Buffer.from(
    mail.body.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))),
    'latin1',
  ).toString('utf8');
  assert.match(body, /^亲爱的吴二：本周会员日。退订：https:\/\/s\.example\.com\/u\/ws_\w+\.\w+\.mail\.[\w-]{12}/);
});

test('WeCom: one mass send per staff member for their customers, settled when they confirm; the allowance per customer holds', async () => {
  const file = path.join(tempDir(), 'contacts.csv');
  fs.writeFileSync(file, 'external_userid,staff_userid,name\nwm1,zhangsan,甲\nwm2,zhangsan,乙\nwm3,zhangsan,丙\nwm4,lisi,丁\n');
  await runImport(stores, { workspace: ws, kind: 'contacts', source: 'wecom', files: [file] });
  await saveSegment(stores, ws.id, {
    key: 'wecom_friends',
    name: { zh: '企微好友', en: 'WeCom friends' },
    conditions: [{ type: 'identifier', identifierType: 'wecom_external_userid' }],
  });
  await saveChannel(stores, ws.id, {
    key: 'wecom',
    kind: 'wecom',
    config: { corpId: 'ww-corp', corpSecretEnv: 'WECOM_SECRET', baseUrl: wecom.url, massMessageRule: 'one-per-day' },
  });
  const ledger = await runPlan('wecom_push', 'wecom', { text: '新品到店，欢迎来看看' }, 'wecom_friends');
  assert.deepEqual(
    ledger.map((l) => [l.address, l.status]),
    [
      ['wm1', 'sent'],
      ['wm2', 'sent'],
      ['wm3', 'sent'],
      ['wm4', 'sent'],
    ],
  );
  const tasks = [...wecom.tasks.values()];
  assert.deepEqual(tasks.map((t) => [t.sender, (t.body.external_userid as string[]).sort().join(',')]).sort(), [
    ['lisi', 'wm4'],
    ['zhangsan', 'wm1,wm2,wm3'],
  ]);

  // 张三 confirms in WeCom; 李四 has not yet.
  wecom.confirm(tasks.find((t) => t.sender === 'zhangsan')!.msgid);
  const polled = await pollWeComConfirmations(stores, { env, workspaceId: ws.id });
  assert.deepEqual([polled.tasks, polled.delivered, polled.failed], [2, 3, 0]);
  const after = await stores.state.db
    .selectFrom('deliveries')
    .select(['address', 'status'])
    .where('workspace_id', '=', ws.id)
    .where('plan_key', '=', 'wecom_push')
    .orderBy('address')
    .execute();
  assert.deepEqual(
    after.map((l) => l.status),
    ['delivered', 'delivered', 'delivered', 'sent'],
  );

  // The corp allows one mass message a day per customer: a second plan today reaches nobody, and says why.
  const second = await runPlan('wecom_again', 'wecom', { text: '再来一条' }, 'wecom_friends');
  assert.deepEqual(
    second.map((l) => l.status),
    ['stopped', 'stopped', 'stopped', 'stopped'],
  );
  assert.equal(second[0].reason, "wecom: 1 mass messages a day already (the platform's allowance per customer)");
  assert.equal(wecom.tasks.size, 2);
});
