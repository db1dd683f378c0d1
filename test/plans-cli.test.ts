import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { runCli, tempDir, uniqueSlug } from './helpers.ts';
import { startWebhookReceiver } from '../src/channels/testing/webhook-receiver.ts';

// The contract servers listen on loopback, which outbound HTTP and SMTP refuse unless the server
// operator allows private egress: this test process (and the servers it spawns) allows it.
process.env.SIYU_ALLOW_PRIVATE_EGRESS = '1';
// These suites keep the older environment-variable secrets, which the server operator must allow-list.
process.env.SIYU_CHANNEL_SECRET_ENV_ALLOW = 'CLI_HOOK_SECRET';

test('siyu channels / policy / plans: create, preview, start (sends in the CLI process), report', { timeout: 180_000 }, async () => {
  const dir = tempDir();
  const receiver = await startWebhookReceiver('cli-secret');
  const env = { SIYU_DATA_DIR: dir, SIYU_DEMO_PEOPLE: '0', CLI_HOOK_SECRET: 'cli-secret', SIYU_CHANNEL_SECRET_ENV_ALLOW: 'CLI_HOOK_SECRET' };
  const slug = uniqueSlug('plans-cli');
  const cli = async (...args: string[]) => {
    const result = await runCli([...args, ...(args[0] === 'workspace' ? [] : ['-w', slug])], env);
    assert.equal(result.code, 0, `siyu ${args.join(' ')}\n${result.stderr}`);
    return result.stdout;
  };
  try {
    await cli('workspace', 'create', '--slug', slug, '--name', 'cli');
    const file = (name: string, content: unknown) => {
      const p = path.join(dir, name);
      fs.writeFileSync(p, typeof content === 'string' ? content : JSON.stringify(content));
      return p;
    };
    await cli('import', 'members', file('members.csv', 'member_no,phone,name\nP1,13600000001,甲\nP2,13600000002,乙\nP3,,丙\n'), '--source', 'crm');
    await cli('segments', 'create', file('seg.json', { key: 'members', name: { zh: '会员', en: 'Members' }, conditions: [{ type: 'identifier', identifierType: 'member_no' }] }));
    assert.match(
      await cli(
        'channels',
        'add',
        file('channel.json', { key: 'hook', kind: 'webhook', address: 'phone', costPerMessage: 0.1, config: { url: receiver.url, secretEnv: 'CLI_HOOK_SECRET' } }),
      ),
      /channel hook: webhook, addressed by phone/,
    );
    await cli('policy', 'set', file('policy.json', { caps: [{ channels: ['*'], windowHours: 24, max: 3 }], quietHours: null }));
    assert.match(await cli('policy', 'show'), /"windowHours": 24/);

    const bad = await runCli(
      [
        'plans',
        'create',
        file('bad.json', { key: 'bad', name: 'x', audience: { segment: 'members' }, channel: 'hook', variants: [{ key: 'A', template: { text: '{{ person.nickname }}' } }] }),
        '-w',
        slug,
      ],
      env,
    );
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /variants\[0\]\.template\.text: unknown field \{\{ person\.nickname \}\}/);

    const plan = {
      key: 'hello',
      name: '问候',
      audience: { segment: 'members' },
      channel: 'hook',
      variants: [{ key: 'A', template: { text: '{{ person.name }}您好' } }],
      goal: { kind: 'order', windowDays: 3 },
    };
    assert.match(await cli('plans', 'create', file('plan.json', plan)), /plan hello \(问候\): draft; segment members via hook/);
    assert.match(await cli('plans', 'preview', 'hello', '1'), /"text": "(甲|乙|丙)您好"/);
    const started = await cli('plans', 'start', 'hello');
    assert.match(started, /audience 3, queued 2, control 0, stopped by policy 1/);
    assert.match(started, /plan hello: completed; ledger \{"delivered":2,"stopped":1\}|plan hello: completed; ledger \{"stopped":1,"delivered":2\}/);
    assert.equal(receiver.received.size, 2);
    const report = await cli('plans', 'report', 'hello');
    assert.match(report, /^A\s+3\s+1\s+2\s+2\s+0\s+0\s+0\s+0\s+0\.00%\s+0\.2/m);
    assert.match(report, /unreachable: no phone\s+1/);
    assert.match(await cli('plans', 'list'), /hello\s+问候\s+completed\s+once/);
  } finally {
    await receiver.close();
  }
});
