import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  assertEgressAllowed,
  checkEgressUrl,
  connectGuarded,
  EgressRefusedError,
  EgressSettingError,
  egressPolicy,
  guardedLookup,
  nonPublicRange,
  parseEgressPolicy,
  PUBLIC_EGRESS_ONLY,
  useResolver,
} from './egress.ts';
import { safeExcerpt } from './excerpt.ts';

test('every non-public range is named; public unicast is not', () => {
  const refused: Record<string, string> = {
    '127.0.0.1': 'loopback',
    '127.255.255.254': 'loopback',
    '0.0.0.0': 'unspecified',
    '10.1.2.3': 'private',
    '172.16.0.1': 'private',
    '172.31.255.255': 'private',
    '192.168.1.1': 'private',
    '169.254.169.254': 'linkLocal',
    '100.64.0.1': 'carrierGradeNat',
    '100.127.255.255': 'carrierGradeNat',
    '224.0.0.1': 'multicast',
    '239.255.255.250': 'multicast',
    '240.0.0.1': 'reserved',
    '255.255.255.255': 'broadcast',
    '198.18.0.1': 'reserved',
    '198.19.255.255': 'reserved',
    '::1': 'loopback',
    '::': 'unspecified',
    'fe80::1': 'linkLocal',
    'fc00::1': 'uniqueLocal',
    'fd12:3456::1': 'uniqueLocal',
    'ff02::1': 'multicast',
    // IPv4 inside IPv6 is judged by the IPv4 address it carries.
    '::ffff:127.0.0.1': 'loopback',
    '::ffff:7f00:1': 'loopback',
    '::ffff:a9fe:a9fe': 'linkLocal',
    '::ffff:10.0.0.1': 'private',
    '64:ff9b::7f00:1': 'loopback',
    '64:ff9b::10.0.0.1': 'private',
    '64:ff9b::a9fe:a9fe': 'linkLocal',
    '::127.0.0.1': 'loopback',
    '::7f00:1': 'ipv4Compatible',
    '2002:7f00:1::1': '6to4',
    'not-an-ip': 'not an address',
  };
  for (const [address, range] of Object.entries(refused)) assert.equal(nonPublicRange(address), range, address);
  for (const address of ['8.8.8.8', '1.1.1.1', '172.32.0.1', '100.128.0.1', '198.20.0.1', '2400:3200::1', '::ffff:8.8.8.8', '64:ff9b::808:808']) {
    assert.equal(nonPublicRange(address), undefined, address);
  }
});

test('URLs: http(s) only; addresses in any spelling WHATWG URL accepts are checked', () => {
  for (const url of ['file:///etc/passwd', 'gopher://127.0.0.1:6379/_INFO', 'ftp://example.com/', 'dict://127.0.0.1:11211/', 'javascript:alert(1)', 'not a url']) {
    assert.throws(() => checkEgressUrl(url, PUBLIC_EGRESS_ONLY), EgressRefusedError, url);
  }
  for (const url of [
    'http://127.0.0.1/',
    'http://2130706433/',
    'http://0x7f.1/',
    'http://0x7f000001/',
    'http://017700000001/',
    'http://0177.0.0.1/',
    'http://127.1/',
    'http://[::1]/',
    'http://[::ffff:127.0.0.1]/',
    'http://[::ffff:7f00:1]/',
    'http://169.254.169.254/latest/meta-data',
    'http://0.0.0.0:8080/',
    'https://10.0.0.1/',
    'http://[fd00::1]/',
  ]) {
    assert.throws(() => checkEgressUrl(url, PUBLIC_EGRESS_ONLY), /egress refused: a \w+ address is not a public destination/, url);
  }
  assert.equal(checkEgressUrl('https://api.weixin.qq.com/cgi-bin/token', PUBLIC_EGRESS_ONLY).hostname, 'api.weixin.qq.com');
  assert.equal(checkEgressUrl('http://8.8.8.8/', PUBLIC_EGRESS_ONLY).hostname, '8.8.8.8');
});

test('the allow-list: hosts, addresses and CIDRs, each with an optional port; all private with the switch', () => {
  const policy = parseEgressPolicy(undefined, '127.0.0.1:4010, 10.0.0.0/8, mail.internal:25, [fd00::1]:8080, fe80::/10');
  const allowed = (host: string, address: string, port: number) => {
    try {
      assertEgressAllowed(policy, host, address, port);
      return true;
    } catch {
      return false;
    }
  };
  assert.equal(allowed('127.0.0.1', '127.0.0.1', 4010), true);
  assert.equal(allowed('127.0.0.1', '127.0.0.1', 4011), false, 'another port of an allowed address');
  assert.equal(allowed('::ffff:127.0.0.1', '::ffff:127.0.0.1', 4010), true, 'the mapped form of an allowed address');
  assert.equal(allowed('10.200.0.1', '10.200.0.1', 443), true);
  assert.equal(allowed('192.168.0.1', '192.168.0.1', 443), false);
  assert.equal(allowed('mail.internal', '10.9.9.9', 25), true);
  assert.equal(allowed('MAIL.internal.', '192.168.9.9', 25), true, 'names compare without case or the trailing dot');
  assert.equal(allowed('mail.internal', '192.168.9.9', 587), false);
  assert.equal(allowed('other.internal', '192.168.9.9', 25), false);
  assert.equal(allowed('fd00::1', 'fd00::1', 8080), true);
  assert.equal(allowed('fe80::5', 'fe80::5', 1), true);
  assert.equal(allowed('169.254.169.254', '169.254.169.254', 80), false);

  assert.deepEqual(parseEgressPolicy('1', undefined), { allowPrivate: true, allow: [] });
  assert.deepEqual(parseEgressPolicy('0', ''), { allowPrivate: false, allow: [] });
  assert.throws(() => parseEgressPolicy('yes', undefined), /SIYU_ALLOW_PRIVATE_EGRESS must be 1 or 0/);
  assert.throws(
    () => parseEgressPolicy(undefined, '10.0.0.0/99'),
    (e: Error) => e instanceof EgressSettingError && /SIYU_EGRESS_ALLOW: "10.0.0.0\/99" is not a valid CIDR/.test(e.message),
  );
  assert.throws(() => parseEgressPolicy(undefined, 'mail.internal:99999'), /SIYU_EGRESS_ALLOW: "mail.internal:99999" has a port outside/);
  assert.throws(() => parseEgressPolicy(undefined, 'bad host!'), /SIYU_EGRESS_ALLOW: "bad host!" is not a host name/);
  assert.equal(egressPolicy({}).allowPrivate, false, 'off by default');
  assert.equal(egressPolicy({ SIYU_ALLOW_PRIVATE_EGRESS: '1' }).allowPrivate, true);
});

test('the lookup checks every address a name resolves to and hands the socket only those', async () => {
  const lookupAll = (policy = PUBLIC_EGRESS_ONLY, port = 80) =>
    new Promise<unknown>((resolve, reject) => guardedLookup(policy, port)('svc.example', { all: true }, (error, addresses) => (error ? reject(error) : resolve(addresses))));
  let answer = [{ address: '93.184.216.34', family: 4 }];
  const restore = useResolver(async () => answer);
  try {
    assert.deepEqual(await lookupAll(), [{ address: '93.184.216.34', family: 4 }]);
    // One private address among public ones is enough to refuse: the socket could pick any of them.
    answer = [
      { address: '93.184.216.34', family: 4 },
      { address: '10.0.0.5', family: 4 },
    ];
    await assert.rejects(lookupAll(), /egress refused: a private address \(svc.example resolves to it\)/);
    answer = [{ address: '::ffff:169.254.169.254', family: 6 }];
    await assert.rejects(lookupAll(), /linkLocal/);
    answer = [];
    await assert.rejects(lookupAll(), /ENOTFOUND/);
    answer = [{ address: '10.0.0.5', family: 4 }];
    assert.deepEqual(await lookupAll(parseEgressPolicy(undefined, 'svc.example:443'), 443), answer);
  } finally {
    restore();
  }
});

test('a raw TCP connection (SMTP) goes through the same checks, by address and by name', async () => {
  const server = http.createServer((_req, res) => res.end('ok'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  try {
    await assert.rejects(connectGuarded(PUBLIC_EGRESS_ONLY, '127.0.0.1', port, 2000), EgressRefusedError);
    await assert.rejects(connectGuarded(PUBLIC_EGRESS_ONLY, 'localhost', port, 2000), EgressRefusedError);
    const socket = await connectGuarded(parseEgressPolicy(undefined, `127.0.0.1:${port}`), '127.0.0.1', port, 2000);
    assert.equal(socket.remoteAddress, '127.0.0.1');
    socket.destroy();
  } finally {
    server.close();
  }
});

test('excerpts of remote text: no control characters, credentials or addresses, and short', () => {
  const body =
    `{"error":"denied","access_token":"eyJhbGciOiJIUzI1NiJ9.payload.sig","detail":"Bearer abc.def upstream 10.1.2.3 / fd00::1:2:3 said \u001b[31mno\u202e"}` + 'x'.repeat(70_000);
  const excerpt = safeExcerpt(body);
  assert.ok(excerpt.length <= 200, `${excerpt.length} characters`);
  for (const leaked of ['eyJhbGciOiJIUzI1NiJ9', 'abc.def', '10.1.2.3', 'fd00::1', '\u001b', '\u202e']) assert.ok(!excerpt.includes(leaked), `${leaked} in ${excerpt}`);
  assert.match(excerpt, /^\{"error":"denied","access_token":"\[redacted\]/);
  assert.equal(safeExcerpt('invalid template id TPL_ARRIVAL'), 'invalid template id TPL_ARRIVAL', 'ordinary words stay');
  assert.equal(safeExcerpt('SIYU_CHANNEL_SECRET_ENV_ALLOW is not set'), 'SIYU_CHANNEL_SECRET_ENV_ALLOW is not set', 'environment names stay');
  assert.equal(safeExcerpt('key AKIAIOSFODNN7EXAMPLEKEY123 leaked'), 'key [redacted] leaked');
});
