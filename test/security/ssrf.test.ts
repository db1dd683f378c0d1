/**
 * SSRF: an operator of one workspace points a channel (webhook, SMS gateway, token endpoint, SMTP host)
 * at the server's own network — loopback in every spelling, the cloud metadata service, a name that
 * resolves inside, a name that answers differently the second time (DNS rebinding) — and reads what
 * comes back through the send ledger and the person view. Each is replayed here against a live
 * listener that must receive nothing. Private egress is off unless a test turns it on.
 */
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { callApi, openTestStores, startTestServer, tempDir, workspaceWithKeys } from '../helpers.ts';
import type { FastifyInstance } from 'fastify';
import { WebhookClient } from '../../src/channels/webhook.ts';
import { EmailClient } from '../../src/channels/email.ts';
import { exchange, MAX_REPLY_BYTES } from '../../src/channels/http.ts';
import { AccessTokenError, weChatTokenFetcher } from '../../src/channels/access-token.ts';
import type { OutboundMessage } from '../../src/channels/channel.ts';
import { saveChannel } from '../../src/channels/store.ts';
import { runImport } from '../../src/ingest/importer.ts';
import { saveSegment } from '../../src/segments/segments.ts';
import { savePolicy } from '../../src/policy/policy.ts';
import { savePlan, startPlan } from '../../src/plans/plans.ts';
import { runDuePlans } from '../../src/plans/run.ts';
import { planDispatcher } from '../../src/app/worker.ts';
import { startSmtpServer, type SmtpTestServer } from '../../src/channels/testing/smtp-server.ts';
import { useResolver } from '../../src/kernel/egress.ts';
import { clickToken, linkKey, saveTrackedLinks, trackedLinkId } from '../../src/policy/links.ts';

const SECRET = 'whsec_ssrf_test';
process.env.SSRF_HOOK_SECRET = SECRET;
// Item 2 of the same issue limits which environment variables a channel may name.
process.env.SIYU_CHANNEL_SECRET_ENV_ALLOW = [process.env.SIYU_CHANNEL_SECRET_ENV_ALLOW, 'SSRF_HOOK_SECRET'].filter(Boolean).join(',');

interface Listener {
  port: number;
  hits: string[];
  connections: number;
  answer: (res: http.ServerResponse) => void;
  close(): Promise<void>;
}

/** A plain HTTP listener standing in for an internal service: it records every request that reaches it. */
async function listen(host: string, port = 0): Promise<Listener> {
  const listener: Listener = { port: 0, hits: [], connections: 0, answer: (res) => res.end('{"ok":true}'), close: async () => {} };
  const server = http.createServer((req, res) => {
    listener.hits.push(`${req.method} ${req.url}`);
    req.resume();
    req.on('end', () => listener.answer(res));
  });
  server.on('connection', () => listener.connections++);
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, host, resolve));
  listener.port = (server.address() as AddressInfo).port;
  listener.close = () =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return listener;
}

function message(id = 'd1'): OutboundMessage {
  return { deliveryId: id, workspaceId: 'ws_x', personId: '1', address: null, content: { text: 'hi' }, plan: { key: 'p', runId: 'r', variant: 'A', step: 'send' } };
}

let internal: Listener;
beforeEach(() => {
  delete process.env.SIYU_ALLOW_PRIVATE_EGRESS;
  delete process.env.SIYU_EGRESS_ALLOW;
});
before(async () => {
  internal = await listen('127.0.0.1');
});
after(async () => {
  await internal.close();
});

test('a webhook cannot reach loopback, metadata or private addresses, however the address is spelt', async () => {
  const p = internal.port;
  const urls = [
    `http://127.0.0.1:${p}/`,
    `http://[::ffff:127.0.0.1]:${p}/`,
    `http://[::ffff:7f00:1]:${p}/`,
    `http://2130706433:${p}/`,
    `http://0x7f.1:${p}/`,
    `http://017700000001:${p}/`,
    `http://127.1:${p}/`,
    `http://0.0.0.0:${p}/`,
    `http://[::1]:${p}/`,
    `http://localhost:${p}/`,
    `http://LOCALHOST.:${p}/`,
    'http://169.254.169.254/latest/meta-data/iam/security-credentials/',
    'http://[::ffff:a9fe:a9fe]/latest/meta-data',
    'http://[64:ff9b::a9fe:a9fe]/latest/meta-data',
    'http://10.0.0.1/',
    'http://192.168.1.1/',
    'http://100.64.0.1/',
    'http://198.18.0.1/',
    'http://[fd00::1]/',
  ];
  for (const url of urls) {
    const result = await new WebhookClient({ url, secret: SECRET, timeoutMs: 1000 }).send(message());
    assert.equal(result.outcome, 'failed', `${url}: ${JSON.stringify(result)}`);
    assert.match(result.outcome === 'failed' ? result.reason : '', /^egress refused: a \w+ address/, url);
  }
  assert.deepEqual(internal.hits, [], 'nothing reached the internal listener');
});

test('token endpoints and SMS gateways go through the same transport', async () => {
  const fetchToken = weChatTokenFetcher({ appId: 'wx1', appSecret: 's', baseUrl: `http://127.0.0.1:${internal.port}`, timeoutMs: 1000 });
  await assert.rejects(fetchToken(), (error: unknown) => error instanceof AccessTokenError && error.result.outcome === 'failed' && /egress refused/.test(error.result.reason));
  const reply = await exchange('http://169.254.169.254/latest/meta-data', { method: 'GET' }, 1000);
  assert.equal(reply.ok, false);
  assert.deepEqual(internal.hits, []);
});

test('DNS rebinding: a name is resolved once per connection and the socket goes to the address that was checked', async () => {
  // The allowed service on 127.0.0.1 and an internal one on 127.0.0.2 at the same port.
  const inside = await listen('127.0.0.2');
  const allowed = await listen('127.0.0.1', inside.port);
  // Every answer closes the connection, so each send opens a new one and resolves again.
  allowed.answer = (res) => res.setHeader('connection', 'close').end('{"ok":true}');
  process.env.SIYU_EGRESS_ALLOW = `127.0.0.1:${allowed.port}`;
  const answers = ['127.0.0.1', '127.0.0.2'];
  let lookups = 0;
  // First answer allowed, every later one inside: a check that resolves and a connect that resolves again would be fooled.
  const restore = useResolver(async () => [{ address: answers[Math.min(lookups++, 1)], family: 4 }]);
  try {
    const client = new WebhookClient({ url: `http://rebind.example:${allowed.port}/hook`, secret: SECRET, timeoutMs: 2000 });
    assert.deepEqual(await client.send(message('d1')), { outcome: 'sent', delivered: true });
    assert.equal(lookups, 1, 'one resolution for the connection');
    assert.deepEqual(allowed.hits, ['POST /hook']);
    const second = await client.send(message('d2'));
    assert.equal(second.outcome, 'failed');
    assert.match(second.outcome === 'failed' ? second.reason : '', /egress refused: a loopback address \(rebind.example resolves to it\)/);
    assert.deepEqual(inside.hits, [], 'the rebound address was never connected to');
  } finally {
    restore();
    await allowed.close();
    await inside.close();
  }
});

test('with the server setting on, local contract servers work; the named allow-list allows only what it names', async () => {
  const url = `http://127.0.0.1:${internal.port}/ok`;
  process.env.SIYU_ALLOW_PRIVATE_EGRESS = '1';
  assert.deepEqual(await new WebhookClient({ url, secret: SECRET }).send(message()), { outcome: 'sent', delivered: true });
  delete process.env.SIYU_ALLOW_PRIVATE_EGRESS;
  process.env.SIYU_EGRESS_ALLOW = `127.0.0.1:${internal.port}`;
  assert.deepEqual(await new WebhookClient({ url, secret: SECRET }).send(message()), { outcome: 'sent', delivered: true });
  const other = await new WebhookClient({ url: `http://127.0.0.1:${internal.port + 1}/`, secret: SECRET, timeoutMs: 1000 }).send(message());
  assert.equal(other.outcome, 'failed', 'another port of the same address is not allowed');
  assert.deepEqual(internal.hits, ['POST /ok', 'POST /ok']);
  internal.hits.length = 0;
});

test('kept-alive connections are still reused: a name is resolved and checked once per connection, not per request', async () => {
  const service = await listen('127.0.0.1');
  process.env.SIYU_EGRESS_ALLOW = `keepalive.example:${service.port}`;
  let lookups = 0;
  const restore = useResolver(async () => {
    lookups++;
    return [{ address: '127.0.0.1', family: 4 }];
  });
  try {
    const client = new WebhookClient({ url: `http://keepalive.example:${service.port}/hook`, secret: SECRET });
    for (let i = 0; i < 20; i++) assert.equal((await client.send(message(`d${i}`))).outcome, 'sent');
    assert.equal(service.hits.length, 20);
    assert.equal(service.connections, 1, 'one connection for 20 sequential sends');
    assert.equal(lookups, 1);
  } finally {
    restore();
    await service.close();
  }
});

test('SMTP: the mail server host is checked the same way', async () => {
  const smtp: SmtpTestServer = await startSmtpServer();
  try {
    const mail = (host: string) =>
      new EmailClient({ host, port: smtp.port, from: 'a@brand.example', messageIdDomain: 'brand.example', timeoutMs: 2000 }).send({
        ...message(),
        address: 'k@example.com',
        content: { subject: 's', text: 't' },
      });
    for (const host of [smtp.host, 'localhost']) {
      const refused = await mail(host);
      assert.equal(refused.outcome, 'failed', `${host}: ${JSON.stringify(refused)}`);
      assert.match(refused.outcome === 'failed' ? refused.reason : '', /egress refused/);
    }
    assert.equal(smtp.received.length, 0);
    process.env.SIYU_EGRESS_ALLOW = `${smtp.host}:${smtp.port}`;
    assert.equal((await mail(smtp.host)).outcome, 'sent');
    assert.equal(smtp.received.length, 1);
  } finally {
    await smtp.close();
  }
});

test('file:, gopher: and other schemes, and private addresses written as such, are refused when the channel is saved', async () => {
  const { stores } = await openTestStores();
  try {
    const { ws } = await workspaceWithKeys(stores, 'ssrf-schemes');
    for (const url of ['file:///etc/passwd', 'gopher://127.0.0.1:6379/_INFO', 'dict://127.0.0.1:11211/stat', 'ftp://example.com/x']) {
      await assert.rejects(saveChannel(stores, ws.id, { key: 'hook', kind: 'webhook', config: { url, secretEnv: 'SSRF_HOOK_SECRET' } }), /config\.url|url/i, url);
    }
    // An endpoint written as a private address is refused when saved too, naming the field; allowed, it is kept.
    await assert.rejects(
      saveChannel(stores, ws.id, { key: 'meta', kind: 'webhook', config: { url: 'http://169.254.169.254/latest/meta-data', secretEnv: 'SSRF_HOOK_SECRET' } }),
      /config\.url: egress refused: a linkLocal address/,
    );
    await assert.rejects(
      saveChannel(stores, ws.id, { key: 'mail', kind: 'email', config: { host: '127.0.0.1', port: 2525, from: 'a@brand.example', messageIdDomain: 'brand.example' } }),
      /config\.host: egress refused: a loopback address/,
    );
    const allowed = { ...process.env, SIYU_EGRESS_ALLOW: '127.0.0.1:2525' };
    await saveChannel(
      stores,
      ws.id,
      { key: 'mail', kind: 'email', config: { host: '127.0.0.1', port: 2525, from: 'a@brand.example', messageIdDomain: 'brand.example' } },
      { env: allowed },
    );
  } finally {
    await stores.close();
  }
});

test('a huge reply is read to 64 KiB and the connection dropped', async () => {
  process.env.SIYU_EGRESS_ALLOW = `127.0.0.1:${internal.port}`;
  let written = 0;
  internal.answer = (res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    // 50 MB if the client kept reading; it stops at the cap and the server sees the socket close.
    const chunk = Buffer.alloc(64 * 1024, 'a');
    const pump = () => {
      while (written < 50 * 1024 * 1024 && !res.destroyed) {
        written += chunk.length;
        if (!res.write(chunk)) return res.once('drain', pump);
      }
      res.end();
    };
    pump();
  };
  try {
    const started = performance.now();
    const reply = await exchange(`http://127.0.0.1:${internal.port}/big`, { method: 'GET' }, 10_000);
    assert.ok(reply.ok);
    assert.equal(reply.ok && reply.reply.text.length, MAX_REPLY_BYTES);
    assert.ok(performance.now() - started < 5000, 'not read to the end');
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.ok(written < 10 * 1024 * 1024, `the server wrote ${written} bytes before the client hung up`);
  } finally {
    internal.answer = (res) => res.end('{"ok":true}');
    internal.hits.length = 0;
  }
});

test("a failed send's reply reaches the ledger and the person view only as a code and a short redacted excerpt", async () => {
  const { stores } = await openTestStores();
  let server: FastifyInstance | undefined;
  const receiver = await listen('127.0.0.1');
  const leaked = 'sk_live_51HqLyjWDarjtT1zdp7dcXYZabc';
  receiver.answer = (res) =>
    res
      .writeHead(400, { 'content-type': 'application/json' })
      .end(`{"error":"bad request","api_key":"${leaked}","upstream":"10.20.30.40","note":"\u001b[2J\u202eevil"}` + ' filler'.repeat(20_000));
  process.env.SIYU_EGRESS_ALLOW = `127.0.0.1:${receiver.port}`;
  try {
    const { ws, operator } = await workspaceWithKeys(stores, 'ssrf-ledger');
    const file = path.join(tempDir(), 'members.csv');
    fs.writeFileSync(file, 'member_no,name\nM1,周一\n');
    await runImport(stores, { workspace: ws, kind: 'members', source: 'crm', files: [file] });
    await saveSegment(stores, ws.id, { key: 'all', name: { zh: '全部', en: 'All' }, conditions: [{ type: 'identifier', identifierType: 'member_no' }] });
    await savePolicy(stores, ws.id, { caps: [], quietHours: null });
    await saveChannel(stores, ws.id, { key: 'hook', kind: 'webhook', config: { url: `http://127.0.0.1:${receiver.port}/hook`, secretEnv: 'SSRF_HOOK_SECRET' } });
    await savePlan(stores, ws.id, { key: 'leak', name: 'leak', audience: { segment: 'all' }, channel: 'hook', variants: [{ key: 'A', template: { text: 'hi' } }] });
    await startPlan(stores, ws.id, 'leak', process.env);
    await runDuePlans(stores, { publicUrl: 'https://s.example.com', workspaceId: ws.id });
    const dispatcher = planDispatcher(stores, { env: process.env, backoffMs: 5 });
    await dispatcher.drain();
    await dispatcher.stop();
    assert.equal(receiver.hits.length, 1);

    const ledger = await stores.state.db.selectFrom('deliveries').select(['person_id', 'status', 'reason']).where('workspace_id', '=', ws.id).execute();
    assert.equal(ledger.length, 1);
    assert.equal(ledger[0].status, 'failed');
    const reason = ledger[0].reason ?? '';
    assert.match(reason, /^HTTP 400: /);
    assert.ok(reason.length <= 260, `${reason.length} characters kept`);
    for (const secret of [
      leaked,
      '10.20.30.40',
      '\u001b',
      '\u202e',
      'filler filler filler filler filler filler filler filler filler filler filler filler filler filler filler filler filler filler filler filler filler filler filler filler filler filler filler filler filler filler',
    ]) {
      assert.ok(!reason.includes(secret), `the ledger keeps ${JSON.stringify(secret)}: ${reason}`);
    }
    const events = await stores.facts.query<{ reason: string }>(`SELECT reason FROM message_events WHERE workspace_id = {ws:String} AND event = 'failed'`, { ws: ws.id });
    assert.deepEqual(
      events.map((e) => e.reason),
      [reason],
    );

    ({ app: server } = await startTestServer(stores));
    const base = `http://127.0.0.1:${(server.server.address() as AddressInfo).port}`;
    const view = await callApi(base, 'GET', `/api/v1/people/${ledger[0].person_id}`, operator);
    assert.equal(view.status, 200, view.text);
    assert.ok(!view.text.includes(leaked) && !view.text.includes('10.20.30.40'), 'the person view shows no secret from the reply');
    assert.ok(view.text.includes('HTTP 400'), 'the code is shown');
  } finally {
    await server?.close();
    await receiver.close();
    await stores.close();
  }
});

test('tracked links redirect only to the http(s) URLs signed into the message', async () => {
  const { stores } = await openTestStores();
  let server: FastifyInstance | undefined;
  try {
    const { ws } = await workspaceWithKeys(stores, 'ssrf-links');
    const urls = {
      good: 'https://shop.example.com/a?x=1',
      script: 'javascript:alert(document.cookie)',
      data: 'data:text/html,<script>alert(1)</script>',
      credentials: 'https://shop.example.com@evil.example/login',
      relative: '//evil.example/',
    };
    const links = Object.values(urls).map((url) => ({ workspaceId: ws.id, plan: 'p', runId: 'run1', variant: 'A', channel: 'sms', url }));
    await saveTrackedLinks(stores, links);
    const key = await linkKey(stores, ws.id);
    const token = (url: string, person = 7) => clickToken(key, trackedLinkId({ runId: 'run1', variant: 'A', url }), person);
    ({ app: server } = await startTestServer(stores));
    const base = `http://127.0.0.1:${(server.server.address() as AddressInfo).port}`;
    const click = (t: string) => fetch(`${base}/r/${t}`, { redirect: 'manual' });

    const good = await click(token(urls.good));
    assert.equal(good.status, 302);
    assert.equal(good.headers.get('location'), urls.good);
    for (const url of [urls.script, urls.data, urls.credentials, urls.relative]) assert.equal((await click(token(url))).status, 404, url);
    // A token is good for its own link and person only: another MAC, or another person under the same MAC, is refused.
    const [id, person, mac] = token(urls.good).split('.');
    assert.equal((await click(`${id}.${person}.${mac.slice(0, -1)}${mac.endsWith('A') ? 'B' : 'A'}`)).status, 404);
    assert.equal((await click(`${id}.${(8).toString(36)}.${mac}`)).status, 404);
  } finally {
    await server?.close();
    await stores.close();
  }
});
