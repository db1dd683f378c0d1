/**
 * Security headers on every response, a Content Security Policy the built console runs under without a
 * single violation (login, then the overview's ECharts charts), and /healthz that says a store is down
 * without repeating the store's own error (hosts, paths, users).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { chromium } from 'playwright-core';
import { ensureChromium, openTestStores, startTestServer, tempDir, testConfig, workspaceWithKeys } from '../helpers.ts';
import { openStateStore, type Stores } from '../../src/stores/stores.ts';
import { createUser } from '../../src/access/users.ts';
import { runImport } from '../../src/ingest/importer.ts';
import { consoleRoot } from '../../src/app/server.ts';

let stores: Stores;
let app: FastifyInstance;
let base: string;
const EMAIL = `csp-${process.pid}@example.com`;
const PASSWORD = 'a long enough password';

before(async () => {
  ({ stores } = await openTestStores());
  const { ws } = await workspaceWithKeys(stores, 'headers');
  await createUser(stores, ws.id, { email: EMAIL, name: 'CSP', role: 'admin', password: PASSWORD });
  const file = path.join(tempDir(), 'orders.csv');
  const lines = ['order_id,ordered_at,amount,phone'];
  for (let i = 0; i < 40; i++)
    lines.push(`o${i},${new Date(Date.now() - (5 + i * 3) * 86_400_000).toISOString().slice(0, 10)} 10:00,${50 + i},139000000${String(i % 20).padStart(2, '0')}`);
  fs.writeFileSync(file, lines.join('\n') + '\n');
  await runImport(stores, { workspace: ws, kind: 'orders', source: 'shop', files: [file] });
  ({ app, base } = await startTestServer(stores));
});
after(async () => {
  await app?.close();
  await stores?.close();
});

test('every response carries nosniff, a referrer policy and a CSP whose frame-ancestors let WeCom frame the console', async () => {
  for (const route of ['/', '/healthz', '/api/v1/auth/me', '/api/v1/nothing-here', '/api/openapi.json', '/u/not-a-token']) {
    const response = await fetch(`${base}${route}`);
    const h = response.headers;
    assert.equal(h.get('x-content-type-options'), 'nosniff', route);
    assert.equal(h.get('referrer-policy'), 'no-referrer', route);
    const csp = h.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'self'/, route);
    assert.match(csp, /script-src 'self'(;|$)/, `${route}: no inline or eval'd script`);
    assert.match(csp, /object-src 'none'/, route);
    assert.match(csp, /frame-ancestors 'self' https:\/\/\*\.work\.weixin\.qq\.com https:\/\/work\.weixin\.qq\.com/, route);
    assert.doesNotMatch(csp, /upgrade-insecure-requests/, `${route}: plain http on a LAN keeps working`);
    assert.equal(h.get('x-frame-options'), null, `${route}: X-Frame-Options would forbid WeCom's frame`);
    assert.equal(h.get('cross-origin-resource-policy'), 'same-origin', route);
    await response.arrayBuffer();
  }
  // The browser SDK is loaded by the brand's pages from their own origin.
  const sdk = fs.readdirSync(path.resolve(import.meta.dirname, '../../sdk')).find((f) => f.endsWith('.js'));
  assert.ok(sdk, 'the sdk folder has a script');
  const script = await fetch(`${base}/sdk/${sdk}`);
  assert.equal(script.status, 200);
  assert.equal(script.headers.get('cross-origin-resource-policy'), 'cross-origin');
  assert.equal(script.headers.get('x-content-type-options'), 'nosniff');
});

test('the built console runs under its CSP without a violation: the login page, then the overview with charts', {
  skip: consoleRoot() ? false : 'the console is not built',
}, async () => {
  const browser = await chromium.launch({ executablePath: ensureChromium(), args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'] });
  try {
    const page = await browser.newPage({ locale: 'zh-CN' });
    page.setDefaultTimeout(30_000);
    const violations: string[] = [];
    page.on('console', (message) => {
      if (/Content Security Policy|Refused to/i.test(message.text())) violations.push(message.text());
    });
    await page.addInitScript({
      content: "document.addEventListener('securitypolicyviolation', (e) => console.error('Refused to: CSP ' + e.violatedDirective + ' ' + e.blockedURI))",
    });
    await page.goto(base);
    await page.getByLabel('密码').fill(PASSWORD);
    await page.getByLabel('邮箱').fill(EMAIL);
    await page.getByRole('button', { name: '登录' }).click();
    await page.getByRole('button', { name: '近 365 天' }).click();
    await page.locator('canvas, svg').first().waitFor();
    await page.waitForTimeout(500);
    assert.deepEqual(violations, []);
  } finally {
    await browser.close();
  }
});

test('/healthz says which store is down in one word; the store error stays in the server log', async () => {
  // A second state store, closed: its queries fail with the driver's own message.
  const closed = await openStateStore(testConfig());
  const { app: brokenApp, base: brokenBase } = await startTestServer({ facts: stores.facts, state: closed, close: async () => undefined });
  try {
    await closed.close();
    const response = await fetch(`${brokenBase}/healthz`);
    const text = await response.text();
    assert.equal(response.status, 503);
    const body = JSON.parse(text);
    assert.equal(body.status, 'degraded');
    assert.equal(body.state.status, 'unavailable');
    assert.equal(body.facts.status, 'ok');
    assert.deepEqual(Object.keys(body.state).sort(), ['engine', 'ok', 'status'], `no error text: ${text}`);
    assert.doesNotMatch(text, /error|closed|\//i, text);
  } finally {
    await brokenApp.close();
  }
});
