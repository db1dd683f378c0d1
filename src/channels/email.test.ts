import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { OutboundMessage } from './channel.ts';
import { EmailClient, messageIdFor, type EmailConfig } from './email.ts';
import { startSmtpServer, type SmtpTestServer } from './testing/smtp-server.ts';

// The contract servers listen on loopback, which outbound HTTP and SMTP refuse unless the server
// operator allows private egress: this test process (and the servers it spawns) allows it.
process.env.SIYU_ALLOW_PRIVATE_EGRESS = '1';

async function setup(t: TestContext, overrides: Partial<EmailConfig> = {}, users?: Record<string, string>): Promise<{ server: SmtpTestServer; client: EmailClient }> {
  const server = await startSmtpServer({ users });
  const client = new EmailClient({
    host: server.host,
    port: server.port,
    from: 'Siyu <no-reply@brand.example>',
    messageIdDomain: 'mail.siyu.test',
    timeoutMs: 2000,
    ...overrides,
  });
  t.after(async () => {
    await client.close();
    await server.close();
  });
  return { server, client };
}

function message(overrides: Partial<OutboundMessage> = {}): OutboundMessage {
  return {
    deliveryId: 'spring.r1.42.mail',
    workspaceId: 'w1',
    personId: '42',
    address: 'alice@example.com',
    content: { subject: 'Spring sale starts today', text: 'Hello Alice, everything is 20% off.', html: '<p>Hello Alice, everything is <b>20% off</b>.</p>' },
    plan: { key: 'spring', runId: 'r1', variant: 'a', step: 'mail' },
    ...overrides,
  };
}

test('sends over SMTP with a Message-ID made from the delivery id', async (t) => {
  const { server, client } = await setup(t);
  const result = await client.send(message());
  assert.deepEqual(result, { outcome: 'sent', providerId: '<spring.r1.42.mail@mail.siyu.test>', delivered: false });
  assert.equal(server.received.length, 1);
  const mail = server.received[0];
  assert.equal(mail.from, 'no-reply@brand.example');
  assert.deepEqual(mail.to, ['alice@example.com']);
  assert.equal(mail.headers['message-id'], '<spring.r1.42.mail@mail.siyu.test>');
  assert.equal(mail.headers.subject, 'Spring sale starts today');
  assert.equal(mail.headers.from, 'Siyu <no-reply@brand.example>');
  assert.equal(mail.headers.to, 'alice@example.com');
  assert.match(mail.headers['content-type'], /^multipart\/alternative/);
  assert.match(mail.body, /Hello Alice, everything is 20% off\./);
  assert.match(mail.body, /<b>20% off<\/b>/);
});

test('a retried delivery carries the same Message-ID; the content may name its own sender', async (t) => {
  const { server, client } = await setup(t);
  await client.send(message());
  await client.send(message({ content: { subject: 's', text: 't', from: 'Store <store@brand.example>' } }));
  assert.equal(server.received[0].headers['message-id'], server.received[1].headers['message-id']);
  assert.equal(server.received[1].from, 'store@brand.example');
});

test('a delivery id with characters a Message-ID cannot hold is digested, stably', () => {
  const id = messageIdFor('plan:run/42 step', 'd.example');
  assert.match(id, /^<[A-Za-z0-9_-]{43}@d\.example>$/);
  assert.equal(messageIdFor('plan:run/42 step', 'd.example'), id);
});

for (const [stage, code, outcome] of [
  ['rcpt', 550, 'failed'],
  ['rcpt', 553, 'failed'],
  ['data', 554, 'failed'],
  ['mail', 550, 'failed'],
  ['rcpt', 450, 'retry'],
  ['rcpt', 452, 'retry'],
  ['data', 451, 'retry'],
  ['mail', 421, 'retry'],
] as const) {
  test(`SMTP ${code} at ${stage.toUpperCase()} → ${outcome}`, async (t) => {
    const { server, client } = await setup(t);
    server.answers.push({ stage, code, message: 'scripted reply' });
    const result = await client.send(message());
    assert.equal(result.outcome, outcome);
    assert.match('reason' in result ? result.reason : '', new RegExp(`${code}`));
    assert.equal(server.received.length, 0);
  });
}

test('a mailbox the server always refuses fails', async (t) => {
  const { server, client } = await setup(t);
  server.refusedRecipients.set('gone@example.com', { code: 550, message: '5.1.1 No such user' });
  const result = await client.send(message({ address: 'gone@example.com' }));
  assert.equal(result.outcome, 'failed');
  assert.match(result.outcome === 'failed' ? result.reason : '', /550 5\.1\.1 No such user/);
});

test('a server slower to greet than the timeout is a retry', async (t) => {
  const { server, client } = await setup(t, { timeoutMs: 200 });
  server.greetingDelayMs = 1000;
  const result = await client.send(message());
  assert.deepEqual(result, { outcome: 'retry', reason: 'network: timed out' });
});

test('a refused connection is a retry', async (t) => {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  const client = new EmailClient({ host: '127.0.0.1', port, from: 'a@b.example', messageIdDomain: 'b.example', timeoutMs: 1000 });
  t.after(() => client.close());
  const result = await client.send(message());
  assert.equal(result.outcome, 'retry');
  assert.match(result.outcome === 'retry' ? result.reason : '', /^network: /);
});

test('credentials: accepted ones send, wrong ones are a retry (the account, not the message)', async (t) => {
  const good = await setup(t, { auth: { user: 'mailer', pass: 'right' } }, { mailer: 'right' });
  assert.equal((await good.client.send(message())).outcome, 'sent');
  const bad = await setup(t, { auth: { user: 'mailer', pass: 'wrong' } }, { mailer: 'right' });
  const result = await bad.client.send(message());
  assert.equal(result.outcome, 'retry');
  assert.match(result.outcome === 'retry' ? result.reason : '', /^SMTP authentication: 535/);
});

test('a pooled client sends several messages over kept connections', async (t) => {
  const { server, client } = await setup(t, { pool: true });
  const results = await Promise.all(['a', 'b', 'c'].map((id) => client.send(message({ deliveryId: id, address: `${id}@example.com` }))));
  assert.deepEqual(
    results.map((r) => r.outcome),
    ['sent', 'sent', 'sent'],
  );
  assert.deepEqual(server.received.map((m) => m.to[0]).sort(), ['a@example.com', 'b@example.com', 'c@example.com']);
});

test('no usable address or missing subject/text fails without connecting', async (t) => {
  const { server, client } = await setup(t);
  assert.equal((await client.send(message({ address: 'not-an-address' }))).outcome, 'failed');
  assert.equal((await client.send(message({ address: null }))).outcome, 'failed');
  assert.equal((await client.send(message({ content: { text: 'no subject' } }))).outcome, 'failed');
  assert.equal(server.received.length, 0);
});
