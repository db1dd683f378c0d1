import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normaliseOrigin, originAllowed } from '../access/keys.ts';
import { eventEntity, jsonDepth } from '../ingest/events.ts';
import { DEFAULT_IDENTIFIER_TYPES } from '../identity/identifier-types.ts';
import { trackingSettings } from './http.ts';
import { CallRateLimiter } from '../kernel/rate-limiter.ts';

const types = new Map(DEFAULT_IDENTIFIER_TYPES.map((t) => [t.name, t]));

test('origins: normalised as scheme://host[:port]; a wildcard allows subdomains only; look-alikes are refused', () => {
  assert.equal(normaliseOrigin(' HTTPS://Shop.Example.com/ '), 'https://shop.example.com');
  assert.equal(normaliseOrigin('http://localhost:5173'), 'http://localhost:5173');
  assert.equal(normaliseOrigin('https://*.brand.cn'), 'https://*.brand.cn');
  for (const bad of ['shop.example.com', 'ftp://x.example', 'https://x.example/path', 'https://u:p@x.example', 'javascript:alert(1)'])
    assert.throws(() => normaliseOrigin(bad), /origin/, bad);
  const allowed = ['https://shop.example.com', 'https://*.brand.cn'];
  assert.ok(originAllowed(allowed, 'https://shop.example.com'));
  assert.ok(originAllowed(allowed, 'https://a.b.brand.cn'));
  for (const other of [
    'https://brand.cn',
    'https://evilbrand.cn',
    'http://shop.example.com',
    'https://shop.example.com:8443',
    'https://shop.example.com.evil.cn',
    'null',
    'not a url',
  ]) {
    assert.ok(!originAllowed(allowed, other), other);
  }
});

test('jsonDepth counts levels without recursion and stops early', () => {
  assert.equal(jsonDepth(undefined, 10), 0);
  assert.equal(jsonDepth({ a: 1 }, 10), 1);
  assert.equal(jsonDepth({ a: [{ b: 1 }] }, 10), 3);
  let deep: unknown = 1;
  for (let i = 0; i < 200_000; i++) deep = [deep];
  assert.equal(jsonDepth(deep, 10), 11);
});

test('claims: a tracker event links by its device only; a signed identity vouches for what it names', () => {
  const event = { type: 'identify', anonymousId: 'd1', userId: 'u1', identities: { phone: '13800138000', unionid: 'oU1' }, traits: { name: '王芳' } };
  const claimed = eventEntity(event, types, Date.now(), undefined, { trust: { level: 'claims' } });
  const record = claimed.companions![0].record!;
  assert.deepEqual(record.identifiers, [['device_id', 'd1']]);
  assert.equal(record.name, '');
  assert.deepEqual(JSON.parse(String(claimed.facts[0].row.context)).siyuClaims, {
    identifiers: { 'identities.phone': '+8613800138000', 'identities.unionid': 'oU1', userId: 'u1' },
    profile: { name: '王芳' },
  });
  const signed = eventEntity(event, types, Date.now(), undefined, { trust: { level: 'claims', verified: { unionid: 'oU1' } } });
  assert.deepEqual(signed.companions![0].record!.identifiers, [
    ['device_id', 'd1'],
    ['unionid', 'oU1'],
  ]);
  assert.equal(signed.companions![0].record!.name, '王芳', 'a signed identity makes the profile traits believable');
  const server = eventEntity(event, types);
  assert.deepEqual(
    server.companions![0].record!.identifiers.map(([t]) => t),
    ['device_id', 'phone', 'unionid', 'user_id'],
  );
});

test('tracking settings come from the environment, and a bad value names its variable', () => {
  assert.deepEqual(trackingSettings({}), { maxPastDays: 730, maxFutureHours: 24, ratePerKey: 5000, ratePerIp: 500 });
  assert.equal(trackingSettings({ SIYU_TRACK_MAX_PAST_DAYS: '3650' }).maxPastDays, 3650);
  assert.throws(() => trackingSettings({ SIYU_TRACK_RATE_PER_IP: '0' }), /^Error: SIYU_TRACK_RATE_PER_IP must be a positive whole number, got "0"/);
  assert.throws(() => trackingSettings({ SIYU_TRACK_MAX_FUTURE_HOURS: 'lots' }), /SIYU_TRACK_MAX_FUTURE_HOURS/);
});

test('CallRateLimiter.tryAcquire refuses past the rate without counting the refusal, and says how long to wait', () => {
  let now = 1_000;
  const limiter = new CallRateLimiter({ windows: [{ limit: 2, windowMs: 1000 }], now: () => now });
  assert.equal(limiter.tryAcquire(), 0);
  now += 100;
  assert.equal(limiter.tryAcquire(), 0);
  assert.equal(limiter.tryAcquire(), 900);
  now += 900;
  assert.equal(limiter.tryAcquire(), 0, 'the first call has left the window');
  assert.equal(limiter.tryAcquire(), 100);
});

test('CallRateLimiter.tryAcquire(cost) counts a batch as its events: it fits when that many slots are free', () => {
  let now = 1_000;
  const limiter = new CallRateLimiter({ windows: [{ limit: 5, windowMs: 1000 }], now: () => now });
  assert.equal(limiter.tryAcquire(3), 0);
  now += 100;
  assert.equal(limiter.tryAcquire(3), 900, 'two slots free, three needed: wait for the first three to leave');
  assert.equal(limiter.tryAcquire(2), 0);
  assert.equal(limiter.tryAcquire(1), 900);
  now += 900;
  assert.equal(limiter.tryAcquire(3), 0, 'the first three left the window');
  assert.equal(limiter.tryAcquire(9), 1000, 'more than the limit costs the whole window: it waits for an empty one');
  now += 1000;
  assert.equal(limiter.tryAcquire(9), 0);
  assert.equal(limiter.tryAcquire(1), 1000);
});
