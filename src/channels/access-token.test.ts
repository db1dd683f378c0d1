import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AccessTokenCache, AccessTokenError, postWithAccessToken, weChatTokenFetcher, weComTokenFetcher, type AccessToken } from './access-token.ts';
import { startWeChatServer } from './testing/wechat-server.ts';
import { startWeComServer } from './testing/wecom-server.ts';

// The contract servers listen on loopback, which outbound HTTP and SMTP refuse unless the server
// operator allows private egress: this test process (and the servers it spawns) allows it.
process.env.SIYU_ALLOW_PRIVATE_EGRESS = '1';

function countingFetcher(lifetimeSeconds = 7200): { fetchToken: () => Promise<AccessToken>; calls: () => number } {
  let calls = 0;
  return {
    fetchToken: async () => {
      calls++;
      await new Promise((resolve) => setTimeout(resolve, 20));
      return { value: `t${calls}`, expiresInSeconds: lifetimeSeconds };
    },
    calls: () => calls,
  };
}

test('caches the token until shortly before it expires', async () => {
  let now = 0;
  const fetcher = countingFetcher(7200);
  const cache = new AccessTokenCache({ fetchToken: fetcher.fetchToken, now: () => now });
  assert.equal(await cache.get(), 't1');
  now = 6_899_000; // 7200 s less the 5-minute margin is 6900 s
  assert.equal(await cache.get(), 't1');
  now = 6_900_000;
  assert.equal(await cache.get(), 't2');
  assert.equal(fetcher.calls(), 2);
});

test('a short-lived token is refreshed at half its lifetime at the latest', async () => {
  let now = 0;
  const fetcher = countingFetcher(60);
  const cache = new AccessTokenCache({ fetchToken: fetcher.fetchToken, now: () => now });
  await cache.get();
  now = 29_999;
  assert.equal(await cache.get(), 't1');
  now = 30_000;
  assert.equal(await cache.get(), 't2');
});

test('concurrent callers share one fetch (single flight)', async () => {
  const fetcher = countingFetcher();
  const cache = new AccessTokenCache({ fetchToken: fetcher.fetchToken });
  const tokens = await Promise.all(Array.from({ length: 10 }, () => cache.get()));
  assert.deepEqual(new Set(tokens), new Set(['t1']));
  assert.equal(fetcher.calls(), 1);
});

test('invalidate() forgets the token; invalidating an already replaced token keeps the new one', async () => {
  const fetcher = countingFetcher();
  const cache = new AccessTokenCache({ fetchToken: fetcher.fetchToken });
  const first = await cache.get();
  cache.invalidate();
  const second = await cache.get();
  assert.notEqual(second, first);
  cache.invalidate(first); // a late caller that was rejected with the old token
  assert.equal(await cache.get(), second);
  assert.equal(fetcher.calls(), 2);
});

test('a failed fetch is not cached: the next caller tries again', async () => {
  let calls = 0;
  const cache = new AccessTokenCache({
    fetchToken: async () => {
      calls++;
      if (calls === 1) throw new AccessTokenError({ outcome: 'retry', reason: 'access token: HTTP 502' });
      return { value: 'ok', expiresInSeconds: 7200 };
    },
  });
  await assert.rejects(cache.get(), AccessTokenError);
  assert.equal(await cache.get(), 'ok');
});

test('WeChat: GET /cgi-bin/token with the documented query; platform errors become retry results', async (t) => {
  const server = await startWeChatServer({ appId: 'wxapp', appSecret: 's3cret' });
  t.after(() => server.close());
  const good = await weChatTokenFetcher({ baseUrl: server.url, appId: 'wxapp', appSecret: 's3cret', timeoutMs: 1000 })();
  assert.match(good.value, /^token-/);
  assert.equal(good.expiresInSeconds, 7200);

  const wrongSecret = weChatTokenFetcher({ baseUrl: server.url, appId: 'wxapp', appSecret: 'nope', timeoutMs: 1000 });
  await assert.rejects(wrongSecret(), (error: unknown) => {
    assert.ok(error instanceof AccessTokenError);
    assert.equal(error.result.outcome, 'retry');
    assert.match(error.message, /errcode 40125/);
    return true;
  });

  server.tokenAnswers.push({ delayMs: 500 });
  const slow = weChatTokenFetcher({ baseUrl: `${server.url}/`, appId: 'wxapp', appSecret: 's3cret', timeoutMs: 100 });
  await assert.rejects(slow(), (error: unknown) => error instanceof AccessTokenError && error.message === 'access token: network: timed out');
});

test('WeCom: GET /cgi-bin/gettoken with corpid and corpsecret', async (t) => {
  const server = await startWeComServer({ corpId: 'ww1', corpSecret: 'cs' });
  t.after(() => server.close());
  const token = await weComTokenFetcher({ baseUrl: server.url, corpId: 'ww1', corpSecret: 'cs', timeoutMs: 1000 })();
  assert.match(token.value, /^ww-token-/);
  await assert.rejects(weComTokenFetcher({ baseUrl: server.url, corpId: 'ww-other', corpSecret: 'cs', timeoutMs: 1000 })(), /errcode 40013/);
});

test('postWithAccessToken retries once with a fresh token, and only once', async (t) => {
  const server = await startWeChatServer();
  t.after(() => server.close());
  const tokens = new AccessTokenCache({ fetchToken: weChatTokenFetcher({ baseUrl: server.url, appId: server.appId, appSecret: server.appSecret, timeoutMs: 1000 }) });
  const target = { tokens, baseUrl: server.url, timeoutMs: 1000 };
  const payload = { touser: 'o1', template_id: 't1', data: { a: { value: 'x' } } };

  server.answers.push({ errcode: 42001 });
  const refreshed = await postWithAccessToken(target, '/cgi-bin/message/subscribe/send', payload);
  assert.deepEqual(refreshed.ok ? refreshed.reply.errcode : undefined, 0);
  assert.equal(server.tokenRequests, 2);

  server.answers.push({ errcode: 40014 }, { errcode: 40001 });
  const twice = await postWithAccessToken(target, '/cgi-bin/message/subscribe/send', payload);
  assert.equal(twice.ok, false);
  assert.equal(twice.ok ? undefined : twice.result.outcome, 'retry');
  assert.equal(server.tokenRequests, 3, 'one refresh per call');
  assert.equal(server.received.length, 4, 'two attempts per call');
});

test('a 4xx that is not the platform answering fails the call (it would answer the same again)', async (t) => {
  const server = await startWeChatServer();
  t.after(() => server.close());
  const tokens = new AccessTokenCache({ fetchToken: weChatTokenFetcher({ baseUrl: server.url, appId: server.appId, appSecret: server.appSecret, timeoutMs: 1000 }) });
  server.answers.push({ status: 404, body: '{"error":"no such route"}' });
  const call = await postWithAccessToken({ tokens, baseUrl: server.url, timeoutMs: 1000 }, '/cgi-bin/message/subscribe/send', {});
  assert.deepEqual(call, { ok: false, result: { outcome: 'failed', reason: 'HTTP 404: {"error":"no such route"}' } });
});
