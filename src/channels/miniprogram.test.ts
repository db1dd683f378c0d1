import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { OutboundMessage } from './channel.ts';
import { MiniProgramSubscribeClient } from './miniprogram.ts';
import { startWeChatServer, type WeChatServer } from './testing/wechat-server.ts';

// The contract servers listen on loopback, which outbound HTTP and SMTP refuse unless the server
// operator allows private egress: this test process (and the servers it spawns) allows it.
process.env.SIYU_ALLOW_PRIVATE_EGRESS = '1';

async function setup(t: TestContext, timeoutMs = 2000): Promise<{ server: WeChatServer; client: MiniProgramSubscribeClient }> {
  const server = await startWeChatServer({ appId: 'wxmini', appSecret: 'mini-secret' });
  t.after(() => server.close());
  const client = new MiniProgramSubscribeClient({ appId: 'wxmini', appSecret: 'mini-secret', baseUrl: server.url, timeoutMs });
  return { server, client };
}

function message(overrides: Partial<OutboundMessage> = {}): OutboundMessage {
  return {
    deliveryId: 'd-1',
    workspaceId: 'w1',
    personId: '42',
    address: 'openid-alice',
    content: { template_id: 'tmpl-order', page: 'pages/order/index?id=7', data: { thing1: '新品到店', time2: { value: '2025-05-01 10:00' } } },
    plan: { key: 'spring', runId: 'r1', variant: 'a', step: 'notify' },
    ...overrides,
  };
}

test('sends the documented request and reports sent', async (t) => {
  const { server, client } = await setup(t);
  const result = await client.send(message());
  assert.deepEqual(result, { outcome: 'sent' });
  assert.equal(server.received.length, 1);
  const call = server.received[0];
  assert.equal(call.path, '/cgi-bin/message/subscribe/send');
  assert.match(call.accessToken, /^token-/);
  assert.deepEqual(call.body, {
    touser: 'openid-alice',
    template_id: 'tmpl-order',
    page: 'pages/order/index?id=7',
    data: { thing1: { value: '新品到店' }, time2: { value: '2025-05-01 10:00' } },
    miniprogram_state: 'formal',
    lang: 'zh_CN',
  });
  assert.equal(server.delivered.length, 1);
});

test('reads flattened template fields as rendered by templates (data.thing1)', async (t) => {
  const { server, client } = await setup(t);
  const result = await client.send(message({ content: { template_id: 'tmpl-order', 'data.thing1': '到店礼', miniprogram_state: 'trial' } }));
  assert.equal(result.outcome, 'sent');
  assert.deepEqual(server.received[0].body, {
    touser: 'openid-alice',
    template_id: 'tmpl-order',
    data: { thing1: { value: '到店礼' } },
    miniprogram_state: 'trial',
    lang: 'zh_CN',
  });
});

test('no subscription quota left (43101) parks the person instead of retrying', async (t) => {
  const { server, client } = await setup(t);
  server.enforceSubscriptionQuota = true;
  server.grantSubscription('openid-alice', 'tmpl-order', 1);
  assert.equal((await client.send(message())).outcome, 'sent');
  const second = await client.send(message({ deliveryId: 'd-2' }));
  assert.equal(second.outcome, 'parked');
  assert.match(second.outcome === 'parked' ? second.reason : '', /43101/);
  assert.equal(server.delivered.length, 1);
});

for (const [errcode, outcome] of [
  [43101, 'parked'],
  [40003, 'failed'],
  [47003, 'failed'],
  [40037, 'failed'],
  [41030, 'failed'],
  [-1, 'retry'],
  [45009, 'retry'],
] as const) {
  test(`errcode ${errcode} → ${outcome}`, async (t) => {
    const { server, client } = await setup(t);
    server.answers.push({ errcode });
    const result = await client.send(message());
    assert.equal(result.outcome, outcome);
    assert.match('reason' in result ? result.reason : '', new RegExp(`errcode ${errcode}`));
  });
}

test('an expired token (42001) is refreshed once and the send retried once', async (t) => {
  const { server, client } = await setup(t);
  assert.equal((await client.send(message())).outcome, 'sent');
  server.expireTokens();
  const result = await client.send(message({ deliveryId: 'd-2' }));
  assert.equal(result.outcome, 'sent');
  assert.equal(server.tokenRequests, 2);
  assert.equal(server.received.length, 3, 'first send, rejected second send, retried second send');
  assert.notEqual(server.received[2].accessToken, server.received[1].accessToken);
  assert.equal(server.delivered.length, 2);
});

test('a token the platform calls invalid (40001) is refreshed and the send retried', async (t) => {
  const { server, client } = await setup(t);
  server.answers.push({ errcode: 40001 });
  const result = await client.send(message());
  assert.equal(result.outcome, 'sent');
  assert.equal(server.tokenRequests, 2);
  assert.equal(server.received.length, 2);
});

test('a token rejected again after the refresh is a retry, not a loop', async (t) => {
  const { server, client } = await setup(t);
  server.answers.push({ errcode: 42001 }, { errcode: 40014 });
  const result = await client.send(message());
  assert.equal(result.outcome, 'retry');
  assert.equal(server.received.length, 2);
  assert.equal(server.tokenRequests, 2);
});

test('concurrent sends share one token fetch', async (t) => {
  const { server, client } = await setup(t);
  server.tokenAnswers.push({ delayMs: 100 });
  const results = await Promise.all(Array.from({ length: 5 }, (_, i) => client.send(message({ deliveryId: `d-${i}` }))));
  assert.deepEqual(
    results.map((r) => r.outcome),
    ['sent', 'sent', 'sent', 'sent', 'sent'],
  );
  assert.equal(server.tokenRequests, 1);
});

test('HTTP 5xx and 429 are retries (429 keeps Retry-After)', async (t) => {
  const { server, client } = await setup(t);
  server.answers.push({ status: 502, body: 'bad gateway' }, { status: 429, retryAfterSeconds: 30 });
  const bad = await client.send(message());
  assert.equal(bad.outcome, 'retry');
  const limited = await client.send(message());
  assert.deepEqual(limited, { outcome: 'retry', reason: 'HTTP 429', retryAfterMs: 30_000 });
});

test('a reply slower than the timeout is a retry', async (t) => {
  const { server, client } = await setup(t, 150);
  await client.send(message()); // fetch the token first
  server.answers.push({ delayMs: 600 });
  const result = await client.send(message());
  assert.deepEqual(result, { outcome: 'retry', reason: 'network: timed out' });
});

test('a token endpoint that fails is a retry of the send', async (t) => {
  const { server, client } = await setup(t);
  server.tokenAnswers.push({ status: 503 });
  const result = await client.send(message());
  assert.equal(result.outcome, 'retry');
  assert.match(result.outcome === 'retry' ? result.reason : '', /^access token: HTTP 503/);
  assert.equal(server.received.length, 0);
});

test('missing openid or template id fails without calling the platform', async (t) => {
  const { server, client } = await setup(t);
  assert.equal((await client.send(message({ address: null }))).outcome, 'failed');
  assert.equal((await client.send(message({ content: { data: { thing1: 'x' } } }))).outcome, 'failed');
  assert.equal(server.received.length, 0);
  assert.equal(server.tokenRequests, 0);
});
