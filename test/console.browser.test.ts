/**
 * The console in a real browser (Debian's Chromium driven by playwright-core) against a real server
 * on embedded stores: log in, import a file through the upload form, install and run tags and set
 * their schedule, read the overview, find a person and open their 360 view (a note, a manual tag set
 * and removed), build a segment whose live size matches the API, create, preview and start a plan to
 * a webhook and read its report, switch languages, start a journey and follow it, settings (API keys:
 * a token shown once that works until revoked), and last a new password. Every page visited is saved
 * as a full-page screenshot under test-results/console/.
 */
import { test, before, after, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import type { FastifyInstance } from 'fastify';
import { chromium, type Browser, type Page } from 'playwright-core';
import { ROOT, ensureChromium, openTestStores, startTestServer, tempDir, uniqueSlug } from './helpers.ts';
import type { Stores } from '../src/stores/stores.ts';
import { WorkspaceService, type Workspace } from '../src/access/workspaces.ts';
import { ApiKeyService } from '../src/access/keys.ts';
import { createUser } from '../src/access/users.ts';
import { savePolicy } from '../src/policy/policy.ts';
import { runDuePlans } from '../src/plans/run.ts';
import { advanceJourneys } from '../src/journeys/journeys.ts';
import { runImport } from '../src/ingest/importer.ts';
import { planDispatcher } from '../src/app/worker.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../src/channels/testing/webhook-receiver.ts';
import { startSmsHttpServer, type SmsHttpServer } from '../src/channels/testing/sms-http-server.ts';

// The contract servers listen on loopback, which outbound HTTP and SMTP refuse unless the server
// operator allows private egress: this test process (and the servers it spawns) allows it.
process.env.SIYU_ALLOW_PRIVATE_EGRESS = '1';

const SHOTS = path.join(ROOT, 'test-results', 'console');
const WAIT = 30_000;
const SECRET_ENV = 'CONSOLE_TEST_WEBHOOK_SECRET';
const EMAIL = 'admin@console.example';
const PASSWORD = 'console horse 42';
const NEW_PASSWORD = 'a brand new horse 43';

let stores: Stores;
let app: FastifyInstance;
let base: string;
let ws: Workspace;
let adminKey: string;
let receiver: WebhookReceiver;
let gateway: SmsHttpServer;
/** Typed into the console's channel form only; it must never show again. */
const SMS_TOKEN = 'sms-gateway-token-typed-in-the-console-8642';
let browser: Browser;
let page: Page;

/** Builds console/dist when it is missing or older than any source of the console. */
function buildConsole(): void {
  const dist = path.join(ROOT, 'console', 'dist', 'index.html');
  const newest = (dir: string): number =>
    fs.readdirSync(dir, { withFileTypes: true }).reduce((latest, entry) => {
      const full = path.join(dir, entry.name);
      return Math.max(latest, entry.isDirectory() ? newest(full) : fs.statSync(full).mtimeMs);
    }, 0);
  const sources = Math.max(
    newest(path.join(ROOT, 'console', 'src')),
    fs.statSync(path.join(ROOT, 'console', 'index.html')).mtimeMs,
    fs.statSync(path.join(ROOT, 'console', 'vite.config.ts')).mtimeMs,
  );
  if (fs.existsSync(dist) && fs.statSync(dist).mtimeMs >= sources) return;
  const vite = path.join(ROOT, 'node_modules', '.bin', 'vite');
  const built = spawnSync(vite, ['build', '--config', 'console/vite.config.ts', '--logLevel', 'warn'], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, PATH: `${path.dirname(process.execPath)}:${process.env.PATH}` },
  });
  assert.equal(built.status, 0, `vite build failed:\n${built.stdout}\n${built.stderr}`);
}

/** Canonical order lines over the last weeks (times in the workspace zone), and one row with a bad date. */
const CUSTOMERS = [
  { phone: '13800000001', name: '王小明', orders: 3 },
  { phone: '13800000002', name: '李小红', orders: 2 },
  { phone: '13800000003', name: '张三', orders: 1 },
  { phone: '13800000004', name: '赵四', orders: 1 },
  { phone: '13800000005', name: '钱五', orders: 2 },
  { phone: '13800000006', name: '孙六', orders: 1 },
];
const PRODUCTS = [
  ['YY-JS-70', '燕语即食燕窝', '即食燕窝', 399],
  ['YY-HJ-10', '燕语花胶', '花胶', 258],
  ['YY-GZ-05', '燕语干燕盏', '干燕盏', 899],
] as const;

function ordersCsv(): { csv: string; lines: number; orders: number } {
  const rows = ['order_id,ordered_at,amount,status,phone,name,line_no,sku,product_name,category,quantity,line_amount'];
  let n = 0;
  CUSTOMERS.forEach((c, ci) => {
    for (let k = 0; k < c.orders; k++) {
      n++;
      const day = new Date(Date.now() - (5 + ci * 3 + k * 17) * 86_400_000).toISOString().slice(0, 10);
      const [sku, product, category, price] = PRODUCTS[(ci + k) % PRODUCTS.length];
      const [sku2, product2, category2, price2] = PRODUCTS[(ci + k + 1) % PRODUCTS.length];
      const amount = (price + price2).toFixed(2);
      rows.push(`E${1000 + n},${day} 1${k}:15:00,${amount},completed,${c.phone},${c.name},1,${sku},${product},${category},1,${price.toFixed(2)}`);
      rows.push(`E${1000 + n},${day} 1${k}:15:00,${amount},completed,${c.phone},${c.name},2,${sku2},${product2},${category2},1,${price2.toFixed(2)}`);
    }
  });
  rows.push('E9999,not a date,10.00,completed,13800000009,周七,1,YY-JS-70,燕语即食燕窝,即食燕窝,1,10.00');
  return { csv: rows.join('\n') + '\n', lines: rows.length - 1, orders: n };
}

async function api<T>(method: string, route: string, body?: unknown): Promise<T> {
  const response = await fetch(`${base}${route}`, {
    method,
    headers: { authorization: `Bearer ${adminKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  assert.ok(response.ok, `${method} ${route}: ${response.status} ${text}`);
  return JSON.parse(text) as T;
}

async function shot(name: string): Promise<void> {
  // Charts and fonts settle before the picture; from the top, where the sticky header belongs.
  await page.waitForLoadState('networkidle', { timeout: WAIT }).catch(() => undefined);
  await page.mouse.wheel(0, -100_000);
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

/** A step of the walk; on failure the page as it was is saved next to the screenshots. */
function step(t: TestContext, name: string, fn: () => Promise<void>) {
  return t.test(name, async () => {
    try {
      await fn();
    } catch (error) {
      await page.screenshot({ path: path.join(SHOTS, `failed-${name.replace(/[^\w]+/g, '-').slice(0, 60)}.png`), fullPage: true }).catch(() => undefined);
      throw error;
    }
  });
}

/** Accepts the next confirm() the page shows (Playwright dismisses dialogs otherwise). */
function acceptNextDialog(): void {
  page.once('dialog', (dialog) => void dialog.accept());
}

/** Opens a page from the left navigation. */
async function nav(label: string | RegExp): Promise<void> {
  await page.getByRole('navigation').getByRole('link', { name: label }).click();
}

before(async () => {
  buildConsole();
  fs.mkdirSync(SHOTS, { recursive: true });
  process.env[SECRET_ENV] = 'whsec_console_test';
  ({ stores } = await openTestStores());
  ws = await new WorkspaceService(stores.state).create({ slug: uniqueSlug('console'), name: '燕语旗舰店' });
  adminKey = (await new ApiKeyService(stores.state).create(ws.id, 'test', 'admin')).token;
  await createUser(stores, ws.id, { email: EMAIL, name: '周运营', role: 'admin', password: PASSWORD });
  // The default quiet hours (21:00–09:00 in the workspace's zone) would hold a send made at night:
  // this test is about the console, not the clock.
  await savePolicy(stores, ws.id, { quietHours: null });
  ({ app, base } = await startTestServer(stores));
  receiver = await startWebhookReceiver(process.env[SECRET_ENV]!);
  // The webhook's signing secret is a secret of the workspace, named by the channel.
  await api('PUT', '/api/v1/secrets/hook_secret', { value: process.env[SECRET_ENV]! });
  await api('POST', '/api/v1/channels', { key: 'hook', name: 'CRM Webhook', kind: 'webhook', config: { url: receiver.url, secret: 'hook_secret' } });
  gateway = await startSmsHttpServer({ token: SMS_TOKEN });
  browser = await chromium.launch({
    executablePath: ensureChromium(),
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
  context.setDefaultTimeout(WAIT);
  page = await context.newPage();
  page.on('pageerror', (error) => process.stderr.write(`# page error: ${error.message}\n`));
});

after(async () => {
  await browser?.close();
  await app?.close();
  await receiver?.close();
  await gateway?.close();
  await stores?.close();
});

test('the console: log in, import, tags, overview, people, a segment, a plan, two languages', async (t) => {
  const { csv, lines, orders } = ordersCsv();

  await step(t, 'log in', async () => {
    await page.goto(`${base}/#/people`);
    // Not logged in: the login page, in Chinese, with the language switch.
    await page.getByRole('heading', { name: '登录控制台' }).waitFor();
    await page.getByRole('button', { name: 'English' }).waitFor();
    await page.getByLabel('邮箱').fill(EMAIL);
    await page.getByLabel('密码').fill('wrong password!');
    await page.getByLabel('密码').press('Enter');
    await page.getByRole('alert').getByText('the email or the password is wrong').waitFor();
    await shot('login');
    await page.getByLabel('密码').fill(PASSWORD);
    await page.getByRole('button', { name: '登录' }).click();
    // Back where we were going, with the workspace and the user in the header.
    await page.getByRole('heading', { name: '用户', level: 1 }).waitFor();
    await page.getByText('燕语旗舰店').waitFor();
    await page.getByText('周运营 · 管理员').waitFor();
  });

  await step(t, 'overview before any data says to import orders', async () => {
    await nav('概览');
    await page.getByText('还没有数据').waitFor();
    await page.getByRole('link', { name: '去导入订单' }).click();
    await page.getByRole('heading', { name: '导入文件' }).waitFor();
  });

  await step(t, 'import an orders file through the upload form and read the summary', async () => {
    const file = path.join(tempDir(), 'orders.csv');
    fs.writeFileSync(file, csv);
    await page.getByLabel('数据类型').selectOption('orders');
    await page.getByLabel('文件格式').selectOption('');
    await page.getByLabel('数据来源名').fill('shop');
    await page.getByLabel('文件', { exact: true }).setInputFiles(file);
    await page.getByRole('button', { name: '开始导入' }).click();
    const summary = page.getByTestId('import-summary');
    await summary.waitFor({ timeout: WAIT });
    const pairs = Object.fromEntries(
      await summary.locator('.pair').evaluateAll((els) => els.map((el) => [el.querySelector('dt')!.textContent, el.querySelector('dd')!.textContent])),
    );
    assert.equal(pairs['读取行数'], String(lines));
    assert.equal(pairs['隔离'], '1', 'the row with a bad date is quarantined');
    assert.equal(pairs['新增'], String(lines - 1), 'every good line landed');
    await page.getByRole('row', { name: /shop/ }).first().waitFor();
    await shot('data-import');
    // The quarantined row, with its reason.
    await page.getByRole('button', { name: '查看 1 条隔离数据' }).click();
    await page.getByRole('cell', { name: 'ordered_at' }).waitFor();
    await page.getByRole('cell', { name: 'not a date' }).waitFor();
    await shot('data-quarantine');
  });

  await step(t, 'install the retail tag pack and run every tag from the tags page', async () => {
    await nav('标签');
    await page.getByText('还没有标签').waitFor();
    await page.getByRole('button', { name: '安装零售标签包' }).click();
    await page.getByRole('link', { name: '生命周期阶段' }).waitFor();
    await page.getByRole('button', { name: '全部运行' }).click();
    await page
      .getByRole('status')
      .getByText(/已运行 \d+ 个标签|部分标签运行失败/)
      .waitFor({ timeout: 120_000 });
    // The tags the overview reads have values.
    for (const key of ['lifecycle_stage', 'rfm_r', 'rfm_f']) {
      const { tag, runs } = await api<{ tag: { key: string }; runs: Array<{ status: string; people: number }> }>('GET', `/api/v1/tags/${key}`);
      assert.equal(runs[0]?.status, 'completed', `${tag.key} ran`);
    }
    await shot('tags');
  });

  await step(t, 'tags: run them on a schedule, see the next run, remove it', async () => {
    const card = page.locator('#tag-schedule');
    await card.getByText('未设置定时：标签只在手动运行和导入数据后运行。').waitFor();
    await page.getByLabel('计划（cron）').fill('abc');
    await page.getByRole('button', { name: '保存定时' }).click();
    await card
      .getByRole('alert')
      .getByText(/expected 5 fields/)
      .waitFor();
    await page.getByLabel('计划（cron）').fill('30 2 * * *');
    await page.getByRole('button', { name: '保存定时' }).click();
    await card
      .getByRole('status')
      .getByText(/^已保存：下次运行 \d{4}-\d{2}-\d{2} 02:30（Asia\/Shanghai）。$/)
      .waitFor();
    assert.equal(await page.getByTestId('tag-schedule-cron').textContent(), '30 2 * * *');
    const { schedule } = await api<{ schedule: { cron: string; nextAtLocal: string } | null }>('GET', '/api/v1/tags/schedule');
    assert.equal(schedule?.cron, '30 2 * * *');
    assert.equal(await page.getByTestId('tag-schedule-next').textContent(), `${schedule.nextAtLocal}（Asia/Shanghai）`);
    await shot('tags-schedule');
    acceptNextDialog();
    await page.getByRole('button', { name: '取消定时' }).click();
    await card.getByText('已取消定时运行。').waitFor();
    await card.getByText('未设置定时：标签只在手动运行和导入数据后运行。').waitFor();
    assert.equal((await api<{ schedule: unknown }>('GET', '/api/v1/tags/schedule')).schedule, null);
  });

  await step(t, 'a SQL tag through its form: a query outside the sandbox is refused with the reason, a good one is created', async () => {
    await nav('标签');
    await page.getByRole('link', { name: '新建标签' }).first().click();
    await page.getByLabel('Key').fill('sql_buyers');
    await page.getByLabel('类型', { exact: true }).selectOption('sql');
    await page.getByLabel('中文名').fill('购买次数（SQL）');
    await page.getByLabel('英文名').fill('Purchases (SQL)');
    await page.getByLabel('SQL 查询').fill("SELECT person_id, 1 AS value FROM orders # '\n; DROP TABLE orders");
    await page.getByRole('button', { name: '创建标签' }).click();
    await page
      .getByRole('alert')
      .getByText(/query: one SELECT only/)
      .waitFor();
    await page.getByLabel('SQL 查询').fill('SELECT person_id, count() AS value FROM purchases GROUP BY person_id');
    await page.getByRole('button', { name: '创建标签' }).click();
    await page.getByRole('heading', { name: '购买次数（SQL）' }).waitFor();
    const { tag } = await api<{ tag: { kind: string; valueType: string; query: string } }>('GET', '/api/v1/tags/sql_buyers');
    assert.deepEqual([tag.kind, tag.valueType, tag.query], ['sql', 'number', 'SELECT person_id, count() AS value FROM purchases GROUP BY person_id']);
  });

  await step(t, 'a rule tag through its form: its case is the segment editor’s tree (a tag, a profile and a statistic condition, all of them)', async () => {
    await nav('标签');
    await page.getByRole('link', { name: '新建标签' }).first().click();
    await page.getByLabel('Key').fill('rule_new_members');
    await page.getByLabel('类型', { exact: true }).selectOption('rule');
    await page.getByLabel('中文名').fill('有等级的新客');
    await page.getByLabel('英文名').fill('New members with a level');
    const firstCase = page.locator('.rule-case').first();
    await firstCase.getByLabel('标签', { exact: true }).selectOption('lifecycle_stage');
    await firstCase.getByLabel('值', { exact: true }).fill('新客');
    await firstCase.getByRole('button', { name: '+ 会员资料' }).click();
    await firstCase.locator('.condition[data-type="profile"]').getByLabel('比较').selectOption('exists');
    await firstCase.getByRole('button', { name: '+ 统计' }).click();
    const statistic = firstCase.locator('.condition[data-type="statistic"]');
    await statistic.getByLabel('统计对象').selectOption('purchases');
    await statistic.getByLabel('值', { exact: true }).fill('2');
    await firstCase.getByLabel('取值').fill('是');
    await page.getByRole('button', { name: '创建标签' }).click();
    await page.getByRole('heading', { name: '有等级的新客' }).waitFor();
    const { tag } = await api<{ tag: { cases: unknown[] } }>('GET', '/api/v1/tags/rule_new_members');
    assert.deepEqual(tag.cases, [
      {
        when: {
          type: 'group',
          match: 'all',
          conditions: [
            { type: 'tag', tag: 'lifecycle_stage', op: 'eq', value: '新客' },
            { type: 'profile', field: 'level', op: 'exists' },
            { type: 'statistic', statistic: { of: 'purchases', measure: 'count', windowDays: 90 }, op: 'gte', value: 2 },
          ],
        },
        value: '是',
      },
    ]);
  });

  await step(t, 'the overview shows KPIs, lifecycle, RFM and the trend', async () => {
    await nav('概览');
    const kpi = (label: string) => page.locator('.kpi', { has: page.locator('.kpi-label', { hasText: new RegExp(`^${label}$`) }) }).locator('.kpi-value');
    await kpi('订单数').waitFor();
    assert.equal(await kpi('订单数').textContent(), String(orders));
    assert.equal(await kpi('客户数').textContent(), String(CUSTOMERS.length));
    assert.equal(await kpi('复购率').textContent(), `${((3 / CUSTOMERS.length) * 100).toFixed(1)}%`);
    await page.getByRole('img', { name: '生命周期分布' }).waitFor();
    await page.getByRole('img', { name: 'RFM 矩阵（R × F）' }).waitFor();
    await page
      .getByRole('img', { name: /每日订单与 GMV/ })
      .locator('canvas')
      .waitFor();
    await shot('overview');
  });

  let personId = 0;
  await step(t, 'find a person by phone and open the 360 view', async () => {
    await nav('用户');
    await page.getByLabel('搜索客户').fill('138 0000 0001');
    await page.getByLabel('搜索客户').press('Enter');
    const result = page.getByRole('row', { name: /王小明/ });
    await result.waitFor();
    await shot('people-search');
    await result.getByRole('link').click();
    await page.getByRole('heading', { name: '王小明', level: 1 }).waitFor();
    personId = Number(/#\/people\/(\d+)/.exec(page.url())![1]);
    assert.ok(personId > 0);
    await page.getByRole('heading', { name: '订单（3）' }).waitFor();
    await page.getByRole('cell', { name: '+8613800000001' }).waitFor();
    await page.getByRole('cell', { name: 'shop', exact: true }).first().waitFor();
    // An order opens on its lines.
    await page.locator('details.order summary').first().click();
    await page.getByRole('cell', { name: /燕语/ }).first().waitFor();
    await page.getByRole('button', { name: '为什么是同一个人？' }).click();
    await page.getByRole('heading', { name: '合并解释' }).waitFor();
    await page.locator('#merge-explanation').getByRole('cell', { name: '+8613800000001', exact: true }).waitFor();
    await shot('person');
  });

  await step(t, 'on the 360 view: add a note, set a manual tag (who set it shows) and remove it', async () => {
    await api('POST', '/api/v1/tags', {
      key: 'service_level',
      name: { zh: '服务等级', en: 'Service level' },
      kind: 'manual',
      valueType: 'string',
      options: ['金牌', '银牌', '普通'],
    });
    // The page reads the tag catalog when it opens.
    await page.reload();
    await page.getByRole('heading', { name: '王小明', level: 1 }).waitFor();
    const notes = page.locator('#person-notes');
    await notes.getByText('还没有备注').waitFor();
    assert.ok(await notes.getByRole('button', { name: '添加备注' }).isDisabled(), 'an empty note cannot be added');
    await page.getByLabel('新备注').fill('客户偏好即食燕窝，周末下午方便联系。');
    await notes.getByRole('button', { name: '添加备注' }).click();
    const note = notes.getByRole('listitem').filter({ hasText: '客户偏好即食燕窝，周末下午方便联系。' });
    await note.waitFor();
    await note.getByText(/^周运营 · \d{4}\/\d{2}\/\d{2} \d{2}:\d{2}$/).waitFor();
    assert.equal(await page.getByLabel('新备注').inputValue(), '', 'the text area is emptied');
    const listed = await api<{ notes: Array<{ text: string; authorName: string }> }>('GET', `/api/v1/people/${personId}/notes`);
    assert.deepEqual(
      listed.notes.map((n) => [n.text, n.authorName]),
      [['客户偏好即食燕窝，周末下午方便联系。', '周运营']],
    );

    await page.getByLabel('手动标签', { exact: true }).selectOption({ label: '服务等级' });
    await page.getByLabel('取值', { exact: true }).selectOption('金牌');
    await page.getByRole('button', { name: '设置', exact: true }).click();
    await page.getByRole('status').getByText('已设置「服务等级」= 金牌。').waitFor();
    const item = page.locator('.tag-item[data-tag="service_level"]');
    await item.locator('dt', { hasText: '服务等级' }).waitFor();
    await item.locator('.tag-value', { hasText: '金牌' }).waitFor();
    await item.getByText(/^周运营 设置于 \d{4}\/\d{2}\/\d{2} \d{2}:\d{2}$/).waitFor();
    const { tags } = await api<{ tags: Array<{ key: string; value: unknown; setBy?: string }> }>('GET', `/api/v1/people/${personId}/tags`);
    const set = tags.find((tag) => tag.key === 'service_level');
    assert.equal(set?.value, '金牌');
    assert.match(set?.setBy ?? '', /^api:usr_/);
    await page.getByText('当前值：金牌').waitFor();
    await shot('person-notes');

    acceptNextDialog();
    await page.getByRole('button', { name: '移除', exact: true }).click();
    await page.getByRole('status').getByText('已移除「服务等级」。').waitFor();
    await item.waitFor({ state: 'detached' });
    const after = await api<{ tags: Array<{ key: string }> }>('GET', `/api/v1/people/${personId}/tags`);
    assert.ok(!after.tags.some((tag) => tag.key === 'service_level'), 'the value is gone');
  });

  const tree = { match: 'all', conditions: [{ type: 'orders', count: { min: 2 }, window: { days: 90 } }] };
  await step(t, 'build a segment: the live size is what the API counts for the same tree', async () => {
    await nav('人群');
    await page.getByText('还没有人群').waitFor();
    await page.getByRole('link', { name: '新建人群' }).first().click();
    await page.getByLabel('Key').fill('repeat_buyers');
    await page.getByLabel('中文名').fill('复购客户');
    await page.getByLabel('英文名').fill('Repeat buyers');
    await page.getByText('添加至少一个条件后显示人数。').waitFor();
    await page.getByRole('button', { name: '+ 购买' }).click();
    await page.getByLabel('最少次数').fill('2');
    await page.getByLabel('最近天数').fill('90');
    const expected = (await api<{ exact: { people: number } }>('POST', '/api/v1/segments/count', tree)).exact.people;
    assert.equal(expected, 3, 'three customers bought twice or more');
    await page.locator(`[data-testid="segment-exact"][data-people="${expected}"]`).waitFor();
    assert.equal(await page.getByTestId('segment-exact').textContent(), String(expected));
    await shot('segment-builder');
    await page.getByRole('button', { name: '创建人群' }).click();
    await page.waitForURL(/#\/segments\/repeat_buyers$/);
    await page.getByRole('heading', { name: '复购客户', level: 1 }).waitFor();
    // A saved segment: its size, and a sample of its members.
    await page.locator(`[data-testid="segment-exact"][data-people="${expected}"]`).waitFor();
    await page
      .getByRole('row', { name: /#\d+/ })
      .nth(expected - 1)
      .waitFor();
    const saved = await api<{ segment: { conditions: unknown[] } }>('GET', '/api/v1/segments/repeat_buyers');
    assert.deepEqual(saved.segment.conditions, tree.conditions);
    await page.getByRole('tab', { name: '快照' }).click();
    await page.getByRole('button', { name: '拍快照' }).click();
    await page.getByRole('cell', { name: '手动' }).waitFor();
    await shot('segment');
  });

  await step(t, 'create a plan to the webhook, preview it, start it and read its report', async () => {
    await nav('计划');
    await page.getByText('还没有计划').waitFor();
    await page.getByRole('link', { name: '新建计划' }).first().click();
    await page.getByLabel('Key').fill('welcome_back');
    await page.getByLabel('名称').fill('老客回购礼');
    await page.getByLabel('目标人群').selectOption('repeat_buyers');
    await page.getByLabel('渠道').selectOption('hook');
    await page.getByLabel('变体 A 的 text').fill('{{ person.name }}，老客专享回购礼 {{ unsubscribe_url }}');
    await page.getByLabel('对照组比例（%）').fill('0');
    await shot('plan-new');
    await page.getByRole('button', { name: '创建计划' }).click();
    await page.waitForURL(/#\/plans\/welcome_back$/);
    await page.getByRole('heading', { name: '老客回购礼' }).waitFor();
    await page.getByText('还没有发送').waitFor();
    // The message for one person.
    await page.getByLabel('用户 ID').fill(String(personId));
    await page.getByLabel('用户 ID').press('Enter');
    await page.getByText(/^王小明，老客专享回购礼/).waitFor();
    await page.getByRole('button', { name: '启动' }).click();
    await page.getByTestId('plan-status').filter({ hasText: 'scheduled' }).waitFor({ state: 'attached' });
    // The server's scheduler and dispatcher (siyu start) are not part of a test server: run them here.
    await runDuePlans(stores, { publicUrl: base });
    const dispatcher = planDispatcher(stores, { backoffMs: 5 });
    await dispatcher.drain();
    await dispatcher.stop();
    assert.equal(receiver.received.size, 3);
    // The page follows the plan until it completes, then shows the report.
    await page.getByTestId('plan-status').filter({ hasText: 'completed' }).waitFor({ state: 'attached' });
    await page.locator('[data-testid="report-sent-A"]', { hasText: '3' }).waitFor();
    await page.locator('#plan-report canvas').waitFor();
    await shot('plan');
  });

  await step(t, 'switch to English and back', async () => {
    await page.getByRole('button', { name: 'English' }).click();
    await page.getByRole('navigation').getByRole('link', { name: 'Overview' }).waitFor();
    await page.getByRole('heading', { name: 'Results' }).waitFor();
    await shot('plan-en');
    await nav('Segments');
    await page.getByRole('link', { name: 'Repeat buyers' }).waitFor();
    await shot('segments-en');
    await page.getByRole('button', { name: '中文' }).click();
    await page.getByRole('navigation').getByRole('link', { name: '概览' }).waitFor();
    await page.getByRole('link', { name: '复购客户' }).waitFor();
    // The choice is kept across a reload.
    await page.reload();
    await page.getByRole('navigation').getByRole('link', { name: '人群' }).waitFor();
  });

  await step(t, 'a journey from the plans page: start it, people per step, the report, pause', async () => {
    await api('POST', '/api/v1/journeys', {
      key: 'repeat_care',
      name: '复购关怀流程',
      entry: { segment: 'repeat_buyers' },
      first: 'call',
      steps: {
        call: { type: 'task', title: '致电复购客户', next: 'wait_week' },
        wait_week: { type: 'wait', days: 7, next: 'done' },
        done: { type: 'exit' },
      },
    });
    await nav('计划');
    await page.getByRole('link', { name: '复购关怀流程' }).click();
    await page.waitForURL(/#\/journeys\/repeat_care$/);
    await page.getByRole('heading', { name: '复购关怀流程', level: 1 }).waitFor();
    await page.getByTestId('journey-status').filter({ hasText: 'draft' }).waitFor({ state: 'attached' });
    // The steps in the order people meet them, with what each does.
    const steps = page.locator('#journey-steps tbody tr');
    await steps.first().waitFor();
    assert.deepEqual(await steps.locator('td:first-child code').allTextContents(), ['call', 'wait_week', 'done']);
    await page.locator('#journey-steps').getByRole('cell', { name: '致电复购客户' }).waitFor();
    await page.locator('#journey-steps').getByRole('cell', { name: '7 天' }).waitFor();
    await page.getByText('还没有人进入').waitFor();
    await page.getByRole('button', { name: '启动' }).click();
    await page.getByTestId('journey-status').filter({ hasText: 'running' }).waitFor({ state: 'attached' });
    // The server's journey ticker (siyu start) is not part of a test server: one tick here.
    const tick = await advanceJourneys(stores, { publicUrl: base });
    assert.equal(tick.entered, 3, 'the three repeat buyers entered');
    await page.getByRole('button', { name: '刷新' }).click();
    await page.locator('[data-testid="journey-here-wait_week"]', { hasText: /^3$/ }).waitFor();
    await page.locator('[data-testid="journey-reached-call"]', { hasText: /^3$/ }).waitFor();
    assert.equal(await page.getByTestId('journey-here-call').textContent(), '0');
    assert.equal(await page.getByTestId('journey-active').textContent(), '3');
    const shown = await api<{ positions: Array<{ step: string; status: string; people: number }> }>('GET', '/api/v1/journeys/repeat_care');
    assert.deepEqual(shown.positions, [{ step: 'wait_week', status: 'active', people: 3 }]);
    await page.locator('#journey-report').getByRole('row', { name: /call/ }).waitFor();
    await shot('journey');
    await page.getByRole('button', { name: '暂停' }).click();
    await page.getByTestId('journey-status').filter({ hasText: 'paused' }).waitFor({ state: 'attached' });
    await page.getByRole('button', { name: '继续' }).waitFor();
  });

  await step(t, 'settings: workspace, channels with their secrets (create, test, edit, delete), users, teams, audit', async () => {
    await nav('设置');
    await page.getByLabel('名称').fill('燕语旗舰店（华东）');
    await page.getByRole('button', { name: '保存' }).click();
    await page.getByText('已保存。').waitFor();
    await page.getByText('燕语旗舰店（华东）').first().waitFor();
    await shot('settings-workspace');
    await page.getByRole('tab', { name: '渠道' }).click();
    // The webhook's secret shows as its name and hint, never its value.
    await page.getByRole('cell', { name: 'hook_secret ••••test' }).waitFor();
    assert.equal(await page.getByText(process.env[SECRET_ENV]!).count(), 0, 'a secret value is never shown');
    // A new SMS channel from the form: its token is a password field, stored as a secret.
    const form = page.getByRole('form', { name: '添加渠道' });
    await form.getByLabel('Key').fill('sms_form');
    await form.getByLabel('名称').fill('短信网关');
    await form.getByLabel('类型').selectOption('sms');
    await form.getByLabel('服务商').selectOption('http');
    await form.getByLabel('地址（URL）').fill(gateway.sendUrl);
    const token = form.getByLabel('访问令牌');
    assert.equal(await token.getAttribute('type'), 'password');
    await token.fill(SMS_TOKEN);
    await form.getByRole('button', { name: '添加渠道' }).click();
    await page.getByText('渠道 sms_form 已保存。').waitFor();
    await page.getByRole('cell', { name: 'sms_form_token_secret ••••8642' }).waitFor();
    assert.equal(await page.getByText(SMS_TOKEN).count(), 0, 'the typed token is not shown once saved');
    assert.equal((await page.content()).includes(SMS_TOKEN), false, 'nor anywhere in the page');
    await shot('settings-channels');
    // Send a test to an address typed in.
    await page
      .getByRole('row', { name: /sms_form/ })
      .getByRole('button', { name: '测试' })
      .click();
    const test = page.getByRole('form', { name: '发送测试到… （渠道 sms_form）' });
    await test.getByLabel('地址（手机号、邮箱、OpenID…）').fill('13800138000');
    await test.getByRole('button', { name: '发送测试' }).click();
    await page.getByText('已发送到 13800138000。').waitFor();
    assert.equal(gateway.delivered.at(-1)?.to, '13800138000');
    assert.equal(gateway.received.at(-1)?.authorization, `Bearer ${SMS_TOKEN}`);
    await shot('settings-channel-test');
    // Edit: the stored token shows as its hint with "replace"; a new value replaces the secret.
    await page
      .getByRole('row', { name: /sms_form/ })
      .getByRole('button', { name: '编辑' })
      .click();
    const edit = page.getByRole('form', { name: '编辑渠道 sms_form' });
    await edit.getByText('••••8642').waitFor();
    await edit.getByRole('button', { name: '更换' }).click();
    await edit.getByLabel('访问令牌').fill('a-replaced-gateway-token-1357');
    await edit.getByRole('button', { name: '保存渠道' }).click();
    await page.getByRole('cell', { name: 'sms_form_token_secret ••••1357' }).waitFor();
    // Delete, after the confirm.
    acceptNextDialog();
    await page
      .getByRole('row', { name: /sms_form/ })
      .getByRole('button', { name: '删除', exact: true })
      .click();
    await page.getByText('渠道 sms_form 已删除。').waitFor();
    await page.getByRole('cell', { name: 'sms_form', exact: true }).waitFor({ state: 'detached' });
    // Its secret stays (listed by name and hint) until deleted; one a channel uses cannot be.
    await page.getByRole('cell', { name: 'sms_form_token_secret', exact: true }).waitFor();
    acceptNextDialog();
    await page.getByRole('button', { name: '删除密钥 sms_form_token_secret' }).click();
    await page.getByRole('cell', { name: 'sms_form_token_secret', exact: true }).waitFor({ state: 'detached' });
    acceptNextDialog();
    await page.getByRole('button', { name: '删除密钥 hook_secret' }).click();
    await page.getByText('secret "hook_secret" is used by channel "hook"').waitFor();
    await page.getByRole('tab', { name: '团队' }).click();
    await page.getByLabel('团队名称').fill('天猫团队');
    await page.getByLabel('数据来源').fill('tmall');
    await page.getByRole('button', { name: '创建团队' }).click();
    await page.getByRole('cell', { name: '天猫团队' }).waitFor();
    await page.getByRole('tab', { name: '用户' }).click();
    await page.getByRole('cell', { name: EMAIL }).waitFor();
    await shot('settings-users');
    await page.getByRole('tab', { name: '审计日志' }).click();
    await page.getByRole('cell', { name: 'workspace.update' }).waitFor();
    await shot('settings-audit');
  });

  await step(t, 'settings › API keys: a new key’s token is shown once, works, and stops working when revoked', async () => {
    const workspace = (token: string) => fetch(`${base}/api/v1/workspace`, { headers: { authorization: `Bearer ${token}` } });
    await page.getByRole('tab', { name: 'API 密钥' }).click();
    // The key this test calls the API with is listed, without its secret.
    await page.getByRole('row', { name: /test/ }).getByText('有效').waitFor();
    assert.equal(await page.getByText(adminKey).count(), 0);
    await page.getByLabel('名称').fill('BI 只读');
    await page.getByLabel('角色').selectOption('analyst');
    await page.getByRole('button', { name: '创建密钥' }).click();
    const box = page.getByTestId('new-api-key-token');
    await box.waitFor();
    await page.getByText('请立即复制并妥善保存：关闭后不会再显示这个密钥。').waitFor();
    const token = await box.inputValue();
    const row = page.getByRole('row', { name: /BI 只读/ });
    await row.getByText('有效').waitFor();
    await row.getByRole('cell', { name: '分析师' }).waitFor();
    const prefix = (await row.locator('code').textContent())!;
    assert.ok(token.startsWith(`siyu_${prefix}_`), `the token ${token.slice(0, 20)}… has the listed prefix ${prefix}`);
    // The token works as a Bearer key.
    const ok = await workspace(token);
    assert.equal(ok.status, 200);
    assert.equal(((await ok.json()) as { name: string }).name, '燕语旗舰店（华东）');
    await shot('settings-keys');
    // Shown once: closed, and not there again after a reload.
    await page.getByRole('button', { name: '我已保存，关闭' }).click();
    await box.waitFor({ state: 'detached' });
    await page.reload();
    await row.waitFor();
    assert.equal(await page.getByTestId('new-api-key-token').count(), 0);
    assert.equal(await page.getByText(token).count(), 0);
    // Revoked after a confirm: the list says so and the token no longer works.
    acceptNextDialog();
    await page.getByRole('button', { name: '吊销 BI 只读' }).click();
    await page.getByRole('status').getByText('已吊销「BI 只读」。').waitFor();
    await row.getByText('已吊销').waitFor();
    assert.equal(await page.getByRole('button', { name: '吊销 BI 只读' }).count(), 0);
    assert.equal((await workspace(token)).status, 401);
    assert.equal((await workspace(adminKey)).status, 200, 'the other keys still work');
  });

  await step(t, "settings › API keys: a tracker key held to its site's origins; an identity sign key shown once and revoked", async () => {
    await page.getByLabel('名称').fill('官网埋点');
    await page.getByLabel('角色').selectOption('tracker');
    await page.getByLabel('允许的来源').fill('https://shop.example.com\nhttps://*.brand.cn');
    await page.getByRole('button', { name: '创建密钥' }).click();
    await page.getByTestId('new-api-key-token').waitFor();
    await page.getByRole('button', { name: '我已保存，关闭' }).click();
    const row = page.getByRole('row', { name: /官网埋点/ });
    await row.getByText('https://shop.example.com, https://*.brand.cn').waitFor();
    await page.getByRole('button', { name: '修改「官网埋点」的允许来源' }).click();
    const edit = page.getByRole('region', { name: '修改「官网埋点」的允许来源' });
    await edit.getByLabel('允许的来源').fill('https://m.shop.example.com');
    await edit.getByRole('button', { name: '保存来源' }).click();
    await page.getByRole('status').getByText('已更新「官网埋点」的允许来源。').waitFor();
    await row.getByText('https://m.shop.example.com').waitFor();
    const keys = await api<{ keys: Array<{ name: string; allowedOrigins: string[] | null }> }>('GET', '/api/v1/api-keys');
    assert.deepEqual(keys.keys.find((k) => k.name === '官网埋点')?.allowedOrigins, ['https://m.shop.example.com']);

    const signKeys = page.getByRole('region', { name: '身份签名密钥' });
    await signKeys.getByLabel('创建签名密钥').fill('小程序后端');
    await signKeys.getByRole('button', { name: '创建签名密钥' }).click();
    const secret = await signKeys.getByTestId('new-sign-key-secret').inputValue();
    assert.match(secret, /^[A-Za-z0-9_-]{43}$/);
    await signKeys
      .getByRole('row', { name: /小程序后端/ })
      .getByText('有效')
      .waitFor();
    await shot('settings-sign-keys');
    await signKeys.getByRole('button', { name: '我已保存，关闭' }).click();
    await page.reload();
    await page.getByRole('row', { name: /小程序后端/ }).waitFor();
    assert.equal(await page.getByText(secret).count(), 0, 'the secret is shown once');
    acceptNextDialog();
    await page.getByRole('button', { name: '吊销签名密钥 小程序后端' }).click();
    await page.getByRole('status').getByText('已吊销签名密钥「小程序后端」。').waitFor();
    await page
      .getByRole('region', { name: '身份签名密钥' })
      .getByRole('row', { name: /小程序后端/ })
      .getByText('已吊销')
      .waitFor();
  });

  await step(t, 'OneID corrections on the 360 view: undo the latest merge, unbind an identifier', async () => {
    // Two people a later record merged (it had both their phones), and two records joined by one email.
    const dir = tempDir();
    const first = path.join(dir, 'records-1.csv');
    const second = path.join(dir, 'records-2.csv');
    fs.writeFileSync(
      first,
      'record_id,source,phone,jd_pin,email,name\nm1,crm,13300000001,,,陈一\nm2,crm,13300000002,,,陈二\nu1,crm,,jd_a,fam@example.com,林家\nu2,crm,,jd_b,fam@example.com,林家\n',
    );
    fs.writeFileSync(second, 'record_id,source,phone\nm3,jd,13300000001;13300000002\n');
    await runImport(stores, { workspace: ws, kind: 'records', files: [first] });
    await runImport(stores, { workspace: ws, kind: 'records', files: [second] });
    const find = async (q: string) => (await api<{ people: Array<{ personId: number }> }>('GET', `/api/v1/people?q=${encodeURIComponent(q)}`)).people.map((p) => p.personId);
    const [merged] = await find('13300000001');
    assert.deepEqual(await find('13300000002'), [merged], 'one person holds both phones');
    const recordsOf = async (id: number) => (await api<{ records: Array<{ record_id: string }> }>('GET', `/api/v1/people/${id}/explain`)).records.map((r) => r.record_id).sort();
    assert.deepEqual(await recordsOf(merged), ['m1', 'm2', 'm3']);

    await page.goto(`${base}/#/people/${merged}`);
    await page.getByRole('heading', { name: /陈/, level: 1 }).waitFor();
    await page.getByRole('button', { name: '为什么是同一个人？' }).click();
    const explanation = page.locator('#merge-explanation');
    await explanation.getByRole('cell', { name: '合并' }).first().waitFor();
    acceptNextDialog();
    await explanation.getByRole('button', { name: '撤销最近一次合并' }).click();
    await page
      .getByRole('status')
      .getByText(/^已撤销最近一次合并：拆成 2 组，新增 \d+ 个用户。$/)
      .waitFor();
    // The records the merge joined are apart again (the record with both phones stays with one of them).
    const kept = await recordsOf(merged);
    assert.ok(kept.length < 3 && !(kept.includes('m1') && kept.includes('m2')), `the merge is undone: ${kept.join(', ')}`);
    await page.getByText(new RegExp(`^用户 #${merged} · \\d+ 个标识 · ${kept.length} 条来源记录$`)).waitFor();
    await explanation.getByRole('cell', { name: '撤销合并' }).waitFor();
    assert.equal(await explanation.getByRole('button', { name: '撤销最近一次合并' }).count(), 0, 'nothing more to undo');

    const [family] = await find('fam@example.com');
    await page.goto(`${base}/#/people/${family}`);
    await page.getByRole('heading', { name: '林家', level: 1 }).waitFor();
    // The identities table's row (the explanation, closed for another person, would list it too).
    const email = page.getByRole('row', { name: /^email fam@example\.com/ }).filter({ has: page.getByRole('button', { name: '解绑' }) });
    assert.equal(await page.locator('#merge-explanation').count(), 0);
    assert.equal(await page.getByText(/已撤销最近一次合并/).count(), 0, 'the last person’s notice is gone');
    await email.waitFor();
    // Analysts and staff have no such button; admins and operators confirm first.
    page.once('dialog', (dialog) => void dialog.dismiss());
    await email.getByRole('button', { name: '解绑' }).click();
    await email.waitFor();
    acceptNextDialog();
    await email.getByRole('button', { name: '解绑' }).click();
    await page
      .getByRole('status')
      .getByText(/^已解绑 email「fam@example\.com」：重新识别了 \d+ 条记录，新拆出 \d+ 个用户。$/)
      .waitFor();
    await email.waitFor({ state: 'detached' });
    assert.deepEqual(await find('fam@example.com'), [], 'the email links nobody now');
    await shot('person-unbind');
  });

  // Last: the admin's password changes.
  await step(t, 'change my password from the header; other sessions end; log in again with the new one', async () => {
    // A second session of the same user (another browser, say), which the change ends.
    const other = await fetch(`${base}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: EMAIL, password: PASSWORD }),
    });
    assert.equal(other.status, 200);
    const cookie = other.headers
      .getSetCookie()
      .map((c) => c.split(';')[0])
      .join('; ');
    const me = (c: string) => fetch(`${base}/api/v1/auth/me`, { headers: { cookie: c } });
    assert.equal((await me(cookie)).status, 200);

    await page.getByRole('link', { name: '周运营 · 管理员' }).click();
    await page.waitForURL(/#\/account$/);
    await page.getByRole('heading', { name: '我的账号', level: 1 }).waitFor();
    await page.getByText(EMAIL).waitFor();
    const submit = page.getByRole('button', { name: '修改密码' });
    assert.ok(await submit.isDisabled(), 'nothing to submit yet');
    // The checks before asking the server: length, and the same password twice.
    await page.getByLabel('当前密码').fill(PASSWORD);
    await page.getByLabel('新密码', { exact: true }).fill('short');
    await page.getByLabel('确认新密码').fill('short');
    await submit.click();
    await page.getByRole('alert').getByText('新密码至少需要 10 个字符。').waitFor();
    await page.getByLabel('新密码', { exact: true }).fill(NEW_PASSWORD);
    await page.getByLabel('确认新密码').fill(`${NEW_PASSWORD}!`);
    await submit.click();
    await page.getByRole('alert').getByText('两次输入的新密码不一致。').waitFor();
    // A wrong current password: the server's 403, in its words.
    await page.getByLabel('确认新密码').fill(NEW_PASSWORD);
    await page.getByLabel('当前密码').fill('not my password');
    await submit.click();
    const refused = page.getByRole('alert').filter({ hasText: '当前密码不正确' });
    await refused.getByText('the current password is wrong').waitFor();
    assert.equal(await page.getByText('你的角色没有权限执行此操作。').count(), 0, 'a wrong password is not shown as a missing permission');
    assert.equal((await me(cookie)).status, 200, 'nothing changed yet');
    await page.getByLabel('当前密码').fill(PASSWORD);
    await submit.click();
    await page.getByRole('status').getByText('密码已修改。其他设备和浏览器上的登录已全部退出，下次请用新密码登录。').waitFor();
    assert.equal(await page.getByLabel('当前密码').inputValue(), '', 'the fields are emptied');
    await shot('account');
    // The other session ended; this one goes on.
    assert.equal((await me(cookie)).status, 401);
    await nav('用户');
    await page.getByRole('heading', { name: '用户', level: 1 }).waitFor();
    // Out, and in again: the old password is refused, the new one works.
    await page.getByRole('button', { name: '退出登录' }).click();
    await page.getByRole('heading', { name: '登录控制台' }).waitFor();
    await page.getByLabel('邮箱').fill(EMAIL);
    await page.getByLabel('密码').fill(PASSWORD);
    await page.getByLabel('密码').press('Enter');
    await page.getByRole('alert').getByText('the email or the password is wrong').waitFor();
    await page.getByLabel('密码').fill(NEW_PASSWORD);
    await page.getByRole('button', { name: '登录' }).click();
    await page.getByText('周运营 · 管理员').waitFor();
    await page.getByRole('navigation').getByRole('link', { name: '概览' }).waitFor();
  });
});

test('a scoped user through the console: the shop team sees shop customers only', async (t) => {
  // A JD-only customer the shop team must not see, next to the shop orders imported above.
  const dir = tempDir();
  const jd = path.join(dir, 'jd.csv');
  const today = new Date().toISOString().slice(0, 10);
  fs.writeFileSync(jd, ['order_id,ordered_at,amount,phone,name,sku,quantity,line_amount', `J1,${today} 10:00:00,520.00,13900000009,京东客,YY-GZ-05,1,520.00`, ''].join('\n'));
  await runImport(stores, { workspace: ws, kind: 'orders', files: [jd], source: 'jd' });
  const [jdPerson] = (await api<{ people: Array<{ personId: number }> }>('GET', '/api/v1/people?q=13900000009')).people;
  assert.ok(jdPerson, 'the admin finds the JD customer');
  const { team } = await api<{ team: { id: string } }>('POST', '/api/v1/teams', { name: '门店团队', sources: ['shop'] });
  await createUser(stores, ws.id, { email: 'shop-ops@console.example', name: '门店运营', role: 'operator', password: PASSWORD, teamId: team.id });
  const shopOrders = CUSTOMERS.reduce((sum, c) => sum + c.orders, 0);

  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
  context.setDefaultTimeout(WAIT);
  const scoped = await context.newPage();
  const previous = page;
  page = scoped;
  try {
    await step(t, 'the scoped user logs in and sees their scope in the header', async () => {
      await page.goto(`${base}/#/`);
      await page.getByLabel('邮箱').fill('shop-ops@console.example');
      await page.getByLabel('密码').fill(PASSWORD);
      await page.getByLabel('密码').press('Enter');
      await page.getByText('数据范围: 门店团队').waitFor();
      // The overview counts the shop's orders, not the JD one.
      const kpi = page.locator('.kpi', { has: page.locator('.kpi-label', { hasText: /^订单数$/ }) }).locator('.kpi-value');
      await kpi.waitFor();
      assert.equal(await kpi.textContent(), String(shopOrders));
      await shot('scoped-overview');
    });
    await step(t, 'another team’s customer is neither found nor opened', async () => {
      await nav('用户');
      await page.getByLabel('搜索客户').fill('13900000009');
      await page.getByLabel('搜索客户').press('Enter');
      await page.getByText('没有找到匹配的客户').waitFor();
      await shot('scoped-search');
      await page.goto(`${base}/#/people/${jdPerson.personId}`);
      await page.getByText('找不到此用户，或不在你的数据范围内').waitFor();
      assert.equal(await page.getByText('京东客').count(), 0);
      await shot('scoped-person-refused');
      // A shop customer opens as usual.
      await page
        .getByRole('link', { name: /用户|返回/ })
        .first()
        .click();
      await page.getByLabel('搜索客户').fill('13800000001');
      await page.getByLabel('搜索客户').press('Enter');
      await page
        .getByRole('row', { name: /王小明/ })
        .getByRole('link')
        .click();
      await page.getByRole('heading', { name: '王小明', level: 1 }).waitFor();
      // Notes are theirs to write; OneID corrections change the whole workspace and are not offered.
      await page.locator('#person-notes').getByText('客户偏好即食燕窝，周末下午方便联系。').waitFor();
      await page.getByRole('button', { name: '添加备注' }).waitFor();
      assert.equal(await page.getByRole('button', { name: '解绑' }).count(), 0);
    });
    await step(t, 'workspace-wide changes are not offered to a scoped user', async () => {
      // Segments are counted within the scope, but defining them changes what every team shares.
      await nav('人群');
      await page.getByRole('link', { name: '复购客户' }).click();
      await page.getByRole('heading', { name: '复购客户', level: 1 }).waitFor();
      await page.locator('[data-testid="segment-exact"]').waitFor();
      assert.equal(await page.getByRole('link', { name: '新建人群' }).count(), 0);
      await shot('scoped-segment');
    });
  } finally {
    page = previous;
    await context.close();
  }
});
