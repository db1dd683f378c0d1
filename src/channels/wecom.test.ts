import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { OutboundMessage } from './channel.ts';
import { CallRateLimiter } from '../kernel/rate-limiter.ts';
import { startWeComServer, type WeComServer } from './testing/wecom-server.ts';
import { sharedRateLimiter, weComMassMessageAllowance, WeComCustomerContactClient, type WeComConfig } from './wecom.ts';

// The contract servers listen on loopback, which outbound HTTP and SMTP refuse unless the server
// operator allows private egress: this test process (and the servers it spawns) allows it.
process.env.SIYU_ALLOW_PRIVATE_EGRESS = '1';

async function setup(t: TestContext, overrides: Partial<WeComConfig> = {}): Promise<{ server: WeComServer; client: WeComCustomerContactClient }> {
  const server = await startWeComServer({ corpId: 'ww-corp', corpSecret: 'contact-secret' });
  t.after(() => server.close());
  const client = new WeComCustomerContactClient({
    corpId: 'ww-corp',
    corpSecret: 'contact-secret',
    baseUrl: server.url,
    timeoutMs: 2000,
    rateLimiter: new CallRateLimiter({ windows: [{ limit: 10_000, windowMs: 60_000 }] }),
    ...overrides,
  });
  return { server, client };
}

function message(overrides: Partial<OutboundMessage> = {}): OutboundMessage {
  return {
    deliveryId: 'd-1',
    workspaceId: 'w1',
    personId: '42',
    address: 'wm-alice',
    content: { sender: 'zhangsan', text: '张姐，新品到店，周末来试试？' },
    plan: { key: 'spring', runId: 'r1', variant: 'a', step: 'invite' },
    ...overrides,
  };
}

test('send creates a task for the sender with the documented request: sent, not delivered', async (t) => {
  const { server, client } = await setup(t);
  const result = await client.send(message());
  assert.equal(server.received.length, 1);
  assert.equal(server.received[0].path, '/cgi-bin/externalcontact/add_msg_template');
  assert.deepEqual(server.received[0].body, {
    chat_type: 'single',
    external_userid: ['wm-alice'],
    sender: 'zhangsan',
    text: { content: '张姐，新品到店，周末来试试？' },
  });
  const [task] = server.tasks.values();
  assert.deepEqual(result, { outcome: 'sent', providerId: task.msgid, delivered: false });
});

test('attachments go as the API expects them', async (t) => {
  const { server, client } = await setup(t);
  const attachments = [
    { msgtype: 'link', link: { title: '新品', url: 'https://brand.example/new' } },
    { msgtype: 'miniprogram', miniprogram: { title: '领券', pic_media_id: 'MEDIA', appid: 'wxmini', page: '/pages/coupon.html' } },
  ];
  const result = await client.send(message({ content: { sender: 'zhangsan', attachments } }));
  assert.equal(result.outcome, 'sent');
  assert.deepEqual(server.received[0].body, { chat_type: 'single', external_userid: ['wm-alice'], sender: 'zhangsan', attachments });
});

test('a mass send reports the msgid and the customers WeCom cannot reach; a single send to one of them fails', async (t) => {
  const { server, client } = await setup(t);
  server.customersOf.set('zhangsan', new Set(['wm-alice', 'wm-bob']));
  const created = await client.createMassSend({ sender: 'zhangsan', externalUserIds: ['wm-alice', 'wm-bob', 'wm-stranger'], text: 'hi' });
  assert.equal(created.outcome, 'created');
  assert.deepEqual(created.outcome === 'created' ? created.failedExternalUserIds : [], ['wm-stranger']);
  const single = await client.send(message({ address: 'wm-stranger' }));
  assert.equal(single.outcome, 'failed');
  assert.match(single.outcome === 'failed' ? single.reason : '', /fail_list/);
});

test('send results follow the confirmation: unsent until the sender confirms, then sent or past the allowance', async (t) => {
  const { server, client } = await setup(t);
  server.monthlyAllowancePerCustomer = 1;
  const first = await client.createMassSend({ sender: 'zhangsan', externalUserIds: ['wm-alice', 'wm-bob'], text: 'first' });
  assert.equal(first.outcome, 'created');
  const msgid = first.outcome === 'created' ? first.msgid : '';

  const before = await client.sendResults(msgid, { sender: 'zhangsan' });
  assert.equal(before.outcome, 'ok');
  assert.deepEqual(before.outcome === 'ok' ? before.recipients : [], [
    { externalUserId: 'wm-alice', sender: 'zhangsan', status: 'unsent' },
    { externalUserId: 'wm-bob', sender: 'zhangsan', status: 'unsent' },
  ]);
  const asked = server.received.at(-1);
  assert.deepEqual(asked?.body, { msgid, userid: 'zhangsan', limit: 1000 });

  server.confirm(msgid);
  const after = await client.sendResults(msgid, { sender: 'zhangsan' });
  const recipients = after.outcome === 'ok' ? after.recipients : [];
  assert.deepEqual(
    recipients.map((r) => r.status),
    ['sent', 'sent'],
  );
  assert.ok(recipients[0].sentAt instanceof Date);

  const second = await client.createMassSend({ sender: 'zhangsan', externalUserIds: ['wm-alice'], text: 'second' });
  const secondId = second.outcome === 'created' ? second.msgid : '';
  server.confirm(secondId);
  const limited = await client.sendResults(secondId, { sender: 'zhangsan' });
  assert.deepEqual(limited.outcome === 'ok' ? limited.recipients.map((r) => r.status) : [], ['limit_reached']);
});

test('send results page with the cursor', async (t) => {
  const { client } = await setup(t);
  const created = await client.createMassSend({ sender: 'zhangsan', externalUserIds: ['wm-1', 'wm-2', 'wm-3'], text: 'hi' });
  const msgid = created.outcome === 'created' ? created.msgid : '';
  const page1 = await client.sendResults(msgid, { sender: 'zhangsan', limit: 2 });
  assert.equal(page1.outcome, 'ok');
  assert.equal(page1.outcome === 'ok' ? page1.recipients.length : 0, 2);
  const cursor = page1.outcome === 'ok' ? page1.nextCursor : undefined;
  assert.ok(cursor);
  const page2 = await client.sendResults(msgid, { sender: 'zhangsan', limit: 2, cursor });
  assert.deepEqual(page2.outcome === 'ok' ? [page2.recipients.map((r) => r.externalUserId), page2.nextCursor] : [], [['wm-3'], undefined]);
});

test('results asked for while the task is still being dispatched (41063) are a retry', async (t) => {
  const { server, client } = await setup(t);
  server.answers.push({ errcode: 41063 });
  const result = await client.sendResults('msg-any', { sender: 'zhangsan' });
  assert.equal(result.outcome, 'retry');
});

for (const [errcode, outcome] of [
  [40096, 'failed'],
  [40003, 'failed'],
  [84061, 'failed'],
  [48002, 'failed'],
  [-1, 'retry'],
  [45009, 'retry'],
  [45033, 'retry'],
] as const) {
  test(`add_msg_template errcode ${errcode} → ${outcome}`, async (t) => {
    const { server, client } = await setup(t);
    server.answers.push({ errcode });
    const result = await client.send(message());
    assert.equal(result.outcome, outcome);
    if (errcode === 45009) assert.equal(result.outcome === 'retry' ? result.retryAfterMs : 0, 60_000);
  });
}

test('an expired token (42001) is refreshed once and the call retried once', async (t) => {
  const { server, client } = await setup(t);
  await client.send(message());
  server.expireTokens();
  const result = await client.send(message({ deliveryId: 'd-2' }));
  assert.equal(result.outcome, 'sent');
  assert.equal(server.tokenRequests, 2);
  assert.equal(server.received.length, 3);
  assert.equal(server.tasks.size, 2);
});

test('a wrong corp secret is reported on the send (retry: the message is not at fault)', async (t) => {
  const { server, client } = await setup(t, { corpSecret: 'wrong' });
  const result = await client.send(message());
  assert.equal(result.outcome, 'retry');
  assert.match(result.outcome === 'retry' ? result.reason : '', /^access token: errcode 40001/);
  assert.equal(server.received.length, 0);
});

test('HTTP 5xx, 429 and timeouts are retries', async (t) => {
  const { server, client } = await setup(t, { timeoutMs: 150 });
  await client.send(message()); // token first
  server.answers.push({ status: 503 }, { status: 429, retryAfterSeconds: 5 }, { delayMs: 600 });
  assert.equal((await client.send(message())).outcome, 'retry');
  assert.deepEqual(await client.send(message()), { outcome: 'retry', reason: 'HTTP 429', retryAfterMs: 5000 });
  assert.deepEqual(await client.send(message()), { outcome: 'retry', reason: 'network: timed out' });
});

test('content without a sender, or with no text and no attachments, fails without a call', async (t) => {
  const { server, client } = await setup(t);
  assert.equal((await client.send(message({ content: { text: 'hi' } }))).outcome, 'failed');
  assert.equal((await client.send(message({ content: { sender: 'zhangsan' } }))).outcome, 'failed');
  assert.equal((await client.send(message({ content: { sender: 'zhangsan', attachments: [{ msgtype: 'sticker' }] } }))).outcome, 'failed');
  assert.equal(server.received.length, 0);
});

test('the client waits for its rate limiter before each call', async (t) => {
  const { server, client } = await setup(t, { rateLimiter: new CallRateLimiter({ windows: [{ limit: 2, windowMs: 300 }] }) });
  const results = await Promise.all(Array.from({ length: 5 }, (_, i) => client.send(message({ deliveryId: `d-${i}` }))));
  assert.ok(results.every((r) => r.outcome === 'sent'));
  const times = server.received.map((call) => call.at);
  assert.equal(times.length, 5);
  assert.ok(times[2] - times[0] >= 280, `third call ${times[2] - times[0]} ms after the first`);
  assert.ok(times[4] - times[0] >= 580, `fifth call ${times[4] - times[0]} ms after the first`);
});

test('the rate limiter lets `limit` calls through per sliding window, in order', async () => {
  let clock = 0;
  const slept: number[] = [];
  const limiter = new CallRateLimiter({
    windows: [
      { limit: 3, windowMs: 1000 },
      { limit: 4, windowMs: 10_000 },
    ],
    now: () => clock,
    sleep: async (ms) => {
      slept.push(ms);
      clock += ms;
    },
  });
  for (let i = 0; i < 3; i++) await limiter.acquire();
  assert.deepEqual(slept, []);
  clock = 400;
  await limiter.acquire(); // the minute-like window is full until t=1000
  assert.deepEqual(slept, [600]);
  await limiter.acquire(); // now the 4-per-10s window is full until t=10000
  assert.equal(clock, 10_000);
});

test('one shared limiter per corp, and the documented allowance per customer', () => {
  assert.equal(sharedRateLimiter('corp-a'), sharedRateLimiter('corp-a'));
  assert.notEqual(sharedRateLimiter('corp-a'), sharedRateLimiter('corp-b'));
  assert.deepEqual(weComMassMessageAllowance('days-per-month', new Date('2025-02-10T00:00:00Z')), { per: 'month', max: 28 });
  assert.deepEqual(weComMassMessageAllowance('days-per-month', new Date('2024-02-10T00:00:00Z')), { per: 'month', max: 29 });
  // 20:00 UTC on 31 January is already 1 February in Beijing.
  assert.deepEqual(weComMassMessageAllowance('days-per-month', new Date('2025-01-31T20:00:00Z')), { per: 'month', max: 28 });
  assert.deepEqual(weComMassMessageAllowance('seven-per-week', new Date()), { per: 'week', max: 7 });
  assert.deepEqual(weComMassMessageAllowance('one-per-day', new Date()), { per: 'day', max: 1 });
});
