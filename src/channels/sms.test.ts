import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { OutboundMessage } from './channel.ts';
import { AliyunSmsClient, HttpSmsClient, percentEncode, signRpcRequest, type AliyunSmsConfig } from './sms.ts';
import { aliyunSignature, startAliyunSmsServer, type AliyunSmsServer } from './testing/aliyun-sms-server.ts';
import { startSmsHttpServer, type SmsHttpServer } from './testing/sms-http-server.ts';

// The contract servers listen on loopback, which outbound HTTP and SMTP refuse unless the server
// operator allows private egress: this test process (and the servers it spawns) allows it.
process.env.SIYU_ALLOW_PRIVATE_EGRESS = '1';

function message(content: Record<string, unknown>, overrides: Partial<OutboundMessage> = {}): OutboundMessage {
  return {
    deliveryId: 'spring:r1:42:sms',
    workspaceId: 'w1',
    personId: '42',
    address: '13800138000',
    content,
    plan: { key: 'spring', runId: 'r1', variant: 'a', step: 'sms' },
    ...overrides,
  };
}

describe('provider-neutral HTTP gateway', () => {
  async function setup(t: TestContext, timeoutMs = 2000): Promise<{ server: SmsHttpServer; client: HttpSmsClient }> {
    const server = await startSmsHttpServer({ token: 'tok-1' });
    t.after(() => server.close());
    return { server, client: new HttpSmsClient({ url: server.sendUrl, token: 'tok-1', timeoutMs }) };
  }

  test('posts { to, text, idempotencyKey } with the bearer token; 2xx { id } is sent', async (t) => {
    const { server, client } = await setup(t);
    const result = await client.send(message({ text: '【思域】会员日全场 8 折' }));
    assert.deepEqual(server.received[0], {
      path: '/sms',
      authorization: 'Bearer tok-1',
      body: { to: '13800138000', text: '【思域】会员日全场 8 折', idempotencyKey: 'spring:r1:42:sms' },
    });
    assert.deepEqual(result, { outcome: 'sent', providerId: server.delivered[0].id });
  });

  test('a retried delivery is deduped by the gateway on the idempotency key', async (t) => {
    const { server, client } = await setup(t);
    const first = await client.send(message({ text: 'hi' }));
    const again = await client.send(message({ text: 'hi' }));
    assert.deepEqual(again, first);
    assert.equal(server.delivered.length, 1);
  });

  test('4xx fails, 5xx and 429 retry, a slow gateway is a retry', async (t) => {
    const { server, client } = await setup(t, 150);
    server.answers.push({ status: 422, body: '{"error":"bad number"}' }, { status: 500 }, { status: 429, retryAfterSeconds: 2 }, { delayMs: 600 });
    assert.equal((await client.send(message({ text: 'x' }))).outcome, 'failed');
    assert.equal((await client.send(message({ text: 'x' }))).outcome, 'retry');
    assert.deepEqual(await client.send(message({ text: 'x' })), { outcome: 'retry', reason: 'HTTP 429', retryAfterMs: 2000 });
    assert.deepEqual(await client.send(message({ text: 'x' })), { outcome: 'retry', reason: 'network: timed out' });
  });

  test('a wrong token is refused (401 → failed)', async (t) => {
    const server = await startSmsHttpServer({ token: 'right' });
    t.after(() => server.close());
    const result = await new HttpSmsClient({ url: server.sendUrl, token: 'wrong', timeoutMs: 1000 }).send(message({ text: 'x' }));
    assert.equal(result.outcome, 'failed');
    assert.equal(server.delivered.length, 0);
  });
});

describe('Aliyun SendSms', () => {
  async function setup(t: TestContext, overrides: Partial<AliyunSmsConfig> = {}): Promise<{ server: AliyunSmsServer; client: AliyunSmsClient }> {
    const server = await startAliyunSmsServer({
      accessKeyId: 'LTAIkey',
      accessKeySecret: 'shh',
      signNames: ['思域商城'],
      templates: { SMS_123456: ['name', 'coupon'] },
    });
    t.after(() => server.close());
    const client = new AliyunSmsClient({ accessKeyId: 'LTAIkey', accessKeySecret: 'shh', signName: '思域商城', baseUrl: server.url, timeoutMs: 2000, ...overrides });
    return { server, client };
  }

  // The worked example of Aliyun's SMS signing doc (HTTP协议及签名): GET, AccessKeySecret "testSecret".
  const documented: Record<string, string> = {
    AccessKeyId: 'testId',
    Action: 'SendSms',
    Format: 'XML',
    OutId: '123',
    PhoneNumbers: '15300000001',
    RegionId: 'cn-hangzhou',
    SignName: '阿里云短信测试专用',
    SignatureMethod: 'HMAC-SHA1',
    SignatureNonce: '45e25e9b-0a6f-4070-8c85-2956eda1b466',
    SignatureVersion: '1.0',
    TemplateCode: 'SMS_71390007',
    TemplateParam: '{"customer":"test"}',
    Timestamp: '2017-07-12T02:42:19Z',
    Version: '2017-05-25',
  };

  test('the client signer and the contract server both reproduce the documented signature', () => {
    assert.equal(signRpcRequest('GET', documented, 'testSecret'), 'zJDF+Lrzhj/ThnlvIToysFRq6t4=');
    assert.equal(aliyunSignature('GET', documented, 'testSecret'), 'zJDF+Lrzhj/ThnlvIToysFRq6t4=');
    assert.equal(percentEncode("a b*~!'()"), 'a%20b%2A~%21%27%28%29');
  });

  test('sends a signed SendSms with the documented parameters; OK → sent with the BizId', async (t) => {
    const { server, client } = await setup(t);
    const result = await client.send(message({ templateCode: 'SMS_123456', 'templateParam.name': '张三', 'templateParam.coupon': '满100减20' }));
    assert.equal(server.received.length, 1);
    const { method, params } = server.received[0];
    assert.equal(method, 'POST');
    assert.deepEqual(
      { ...params, SignatureNonce: '·', Timestamp: '·', Signature: '·' },
      {
        AccessKeyId: 'LTAIkey',
        Action: 'SendSms',
        Format: 'JSON',
        RegionId: 'cn-hangzhou',
        SignatureMethod: 'HMAC-SHA1',
        SignatureNonce: '·',
        SignatureVersion: '1.0',
        Timestamp: '·',
        Version: '2017-05-25',
        PhoneNumbers: '13800138000',
        SignName: '思域商城',
        TemplateCode: 'SMS_123456',
        TemplateParam: '{"name":"张三","coupon":"满100减20"}',
        OutId: 'spring:r1:42:sms',
        Signature: '·',
      },
    );
    assert.match(params.Timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.deepEqual(result, { outcome: 'sent', providerId: server.delivered[0].bizId, delivered: false });
  });

  test('a wrong secret is caught by the signature check (account problem → retry)', async (t) => {
    const { server, client } = await setup(t, { accessKeySecret: 'not-it' });
    const result = await client.send(message({ templateCode: 'SMS_123456', templateParam: { name: 'a', coupon: 'b' } }));
    assert.equal(result.outcome, 'retry');
    assert.match(result.outcome === 'retry' ? result.reason : '', /^SignatureDoesNotMatch/);
    assert.equal(server.delivered.length, 0);
  });

  test('validation by the platform: bad number, unknown template, missing parameters → failed', async (t) => {
    const { client } = await setup(t);
    const bad = await client.send(message({ templateCode: 'SMS_123456', templateParam: { name: 'a', coupon: 'b' } }, { address: '12345' }));
    assert.match(bad.outcome === 'failed' ? bad.reason : '', /^isv.MOBILE_NUMBER_ILLEGAL/);
    const unknown = await client.send(message({ templateCode: 'SMS_999999' }));
    assert.match(unknown.outcome === 'failed' ? unknown.reason : '', /^isv.SMS_TEMPLATE_ILLEGAL/);
    const missing = await client.send(message({ templateCode: 'SMS_123456', templateParam: { name: 'a' } }));
    assert.match(missing.outcome === 'failed' ? missing.reason : '', /^isv.TEMPLATE_MISSING_PARAMETERS/);
  });

  for (const [code, outcome] of [
    ['isv.BUSINESS_LIMIT_CONTROL', 'retry'],
    ['isv.DAY_LIMIT_CONTROL', 'retry'],
    ['Throttling.User', 'retry'],
    ['isp.SYSTEM_ERROR', 'retry'],
    ['isv.AMOUNT_NOT_ENOUGH', 'retry'],
    ['isv.MOBILE_NUMBER_ILLEGAL', 'failed'],
    ['isv.SMS_TEMPLATE_ILLEGAL', 'failed'],
    ['isv.TEMPLATE_MISSING_PARAMETERS', 'failed'],
    ['isv.SMS_SIGNATURE_ILLEGAL', 'failed'],
    ['isv.SMS_CONTENT_ILLEGAL', 'failed'],
    ['isv.BLACK_KEY_CONTROL_LIMIT', 'failed'],
  ] as const) {
    test(`Code ${code} → ${outcome}`, async (t) => {
      const { server, client } = await setup(t);
      server.answers.push({ code, message: '触发流控' });
      const result = await client.send(message({ templateCode: 'SMS_123456', templateParam: { name: 'a', coupon: 'b' } }));
      assert.equal(result.outcome, outcome);
      assert.match('reason' in result ? result.reason : '', new RegExp(`^${code.replaceAll('.', '\\.')}: 触发流控 \\(RequestId `));
    });
  }

  test('Throttling answered with HTTP 400 is still read by its Code', async (t) => {
    const { server, client } = await setup(t);
    server.answers.push({ status: 400, body: JSON.stringify({ Code: 'Throttling.User', Message: 'Request was denied due to user flow control.' }) });
    assert.equal((await client.send(message({ templateCode: 'SMS_123456' }))).outcome, 'retry');
  });

  test('HTTP 5xx, 429 and timeouts are retries', async (t) => {
    const { server, client } = await setup(t, { timeoutMs: 150 });
    server.answers.push({ status: 503 }, { status: 429 }, { delayMs: 600 });
    const content = { templateCode: 'SMS_123456', templateParam: { name: 'a', coupon: 'b' } };
    assert.equal((await client.send(message(content))).outcome, 'retry');
    assert.equal((await client.send(message(content))).outcome, 'retry');
    assert.deepEqual(await client.send(message(content)), { outcome: 'retry', reason: 'network: timed out' });
  });

  test('no number or no template code fails without a call', async (t) => {
    const { server, client } = await setup(t);
    assert.equal((await client.send(message({ templateCode: 'SMS_123456' }, { address: null }))).outcome, 'failed');
    assert.equal((await client.send(message({ text: 'free text is not allowed' }))).outcome, 'failed');
    assert.equal(server.received.length, 0);
  });
});
