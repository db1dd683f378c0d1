import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { OutboundMessage } from './channel.ts';
import { clientMsgId, OfficialAccountTemplateClient } from './official-account.ts';
import { startWeChatServer, type WeChatServer } from './testing/wechat-server.ts';

// The contract servers listen on loopback, which outbound HTTP and SMTP refuse unless the server
// operator allows private egress: this test process (and the servers it spawns) allows it.
process.env.SIYU_ALLOW_PRIVATE_EGRESS = '1';

async function setup(t: TestContext, timeoutMs = 2000): Promise<{ server: WeChatServer; client: OfficialAccountTemplateClient }> {
  const server = await startWeChatServer({ appId: 'wxoa', appSecret: 'oa-secret' });
  t.after(() => server.close());
  const client = new OfficialAccountTemplateClient({ appId: 'wxoa', appSecret: 'oa-secret', baseUrl: server.url, timeoutMs });
  return { server, client };
}

function message(overrides: Partial<OutboundMessage> = {}): OutboundMessage {
  return {
    deliveryId: 'spring:r1:42:notify',
    workspaceId: 'w1',
    personId: '42',
    address: 'oa-openid-bob',
    content: {
      template_id: 'tmpl-points',
      url: 'https://brand.example/points',
      'miniprogram.appid': 'wxmini',
      'miniprogram.pagepath': 'pages/points/index',
      'data.first': '您的积分即将过期',
      'data.keyword1': '1200',
    },
    plan: { key: 'spring', runId: 'r1', variant: 'a', step: 'notify' },
    ...overrides,
  };
}

test('sends the documented request with client_msg_id = delivery id and reports the msgid', async (t) => {
  const { server, client } = await setup(t);
  const result = await client.send(message());
  assert.equal(server.received.length, 1);
  assert.equal(server.received[0].path, '/cgi-bin/message/template/send');
  assert.deepEqual(server.received[0].body, {
    touser: 'oa-openid-bob',
    template_id: 'tmpl-points',
    url: 'https://brand.example/points',
    miniprogram: { appid: 'wxmini', pagepath: 'pages/points/index' },
    data: { first: { value: '您的积分即将过期' }, keyword1: { value: '1200' } },
    client_msg_id: 'spring:r1:42:notify',
  });
  assert.deepEqual(result, { outcome: 'sent', providerId: String(server.delivered[0].msgid), delivered: false });
});

test('a retried delivery reaches the person once (the platform dedupes on client_msg_id)', async (t) => {
  const { server, client } = await setup(t);
  const first = await client.send(message());
  const again = await client.send(message());
  assert.equal(first.outcome, 'sent');
  assert.deepEqual(again, first);
  assert.equal(server.received.length, 2);
  assert.equal(server.delivered.length, 1);
});

test('a delivery id longer than 64 bytes is sent as its digest', () => {
  const long = 'x'.repeat(80);
  assert.equal(clientMsgId(long).length, 64);
  assert.equal(clientMsgId(long), clientMsgId(long));
  assert.equal(clientMsgId('short'), 'short');
});

test('a person who does not follow the account (43004) fails', async (t) => {
  const { server, client } = await setup(t);
  server.notFollowing.add('oa-openid-bob');
  const result = await client.send(message());
  assert.equal(result.outcome, 'failed');
  assert.match(result.outcome === 'failed' ? result.reason : '', /43004 require subscribe/);
});

for (const [errcode, outcome] of [
  [43004, 'failed'],
  [40003, 'failed'],
  [40037, 'failed'],
  [47003, 'failed'],
  [43101, 'parked'],
  [-1, 'retry'],
  [45009, 'retry'],
] as const) {
  test(`errcode ${errcode} → ${outcome}`, async (t) => {
    const { server, client } = await setup(t);
    server.answers.push({ errcode });
    assert.equal((await client.send(message())).outcome, outcome);
  });
}

test('an expired token (42001) is refreshed once and the send retried once', async (t) => {
  const { server, client } = await setup(t);
  await client.send(message({ deliveryId: 'd-1' }));
  server.expireTokens();
  const result = await client.send(message({ deliveryId: 'd-2' }));
  assert.equal(result.outcome, 'sent');
  assert.equal(server.tokenRequests, 2);
  assert.equal(server.received.length, 3);
  assert.equal(server.delivered.length, 2);
});

test('HTTP 500 and 429 are retries', async (t) => {
  const { server, client } = await setup(t);
  server.answers.push({ status: 500 }, { status: 429 });
  assert.equal((await client.send(message())).outcome, 'retry');
  assert.equal((await client.send(message())).outcome, 'retry');
});

test('a reply slower than the timeout is a retry', async (t) => {
  const { server, client } = await setup(t, 150);
  server.tokenAnswers.push({ delayMs: 600 });
  const result = await client.send(message());
  assert.equal(result.outcome, 'retry');
  assert.match(result.outcome === 'retry' ? result.reason : '', /timed out/);
});
