import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import iconv from 'iconv-lite';
import { generateDemoBrand, type DemoManifest } from './demo-brand.ts';
import { DEMO_FILES, type DemoFileKey } from './formats.ts';
import { tempDir } from '../../test/helpers.ts';

const PEOPLE = 4000;
let dir: string;
let manifest: DemoManifest;

/** A small RFC 4180 reader: enough to check our own files. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let field = '';
  let row: string[] = [];
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else if (ch !== '\r') field += ch;
  }
  if (field || row.length) rows.push([...row, field]);
  return rows;
}

function read(key: DemoFileKey): Array<Record<string, string>> {
  const spec = DEMO_FILES[key];
  const raw = fs.readFileSync(path.join(dir, spec.name));
  const text = spec.encoding === 'gb18030' ? iconv.decode(raw, 'gb18030') : raw.toString('utf8').replace(/^\uFEFF/, '');
  const [header, ...rows] = parseCsv(text);
  return rows.map((r) => Object.fromEntries(header.map((h, i) => [h, r[i] ?? ''])));
}

let personOf: Map<string, string>;

before(async () => {
  dir = tempDir('siyu-demo-');
  manifest = await generateDemoBrand({ people: PEOPLE, seed: 42, endDate: '2026-10-31', out: dir, threads: 0 });
  personOf = new Map(read('truth').map((r) => [`${r.source}:${r.record_id}`, r.person_key]));
});

function digest(directory: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const spec of Object.values(DEMO_FILES)) {
    out[spec.name] = crypto
      .createHash('sha256')
      .update(fs.readFileSync(path.join(directory, spec.name)))
      .digest('hex');
  }
  return out;
}

test('the same seed gives the same bytes, whether generated in one pass or in worker shards', async () => {
  const sharded = tempDir('siyu-demo-sharded-');
  await generateDemoBrand({ people: PEOPLE, seed: 42, endDate: '2026-10-31', out: sharded, threads: 2 });
  assert.deepEqual(digest(sharded), digest(dir));
  const other = tempDir('siyu-demo-other-');
  await generateDemoBrand({ people: 200, seed: 43, endDate: '2026-10-31', out: other });
  const small = tempDir('siyu-demo-small-');
  await generateDemoBrand({ people: 200, seed: 42, endDate: '2026-10-31', out: small });
  assert.notEqual(digest(other)['tmall_orders.csv'], digest(small)['tmall_orders.csv']);
});

test("Tmall exports are GB18030 without BOM; the others UTF-8 with a BOM; headers are the platforms' Chinese ones", () => {
  for (const spec of Object.values(DEMO_FILES)) {
    const raw = fs.readFileSync(path.join(dir, spec.name));
    const hasBom = raw[0] === 0xef && raw[1] === 0xbb && raw[2] === 0xbf;
    assert.equal(hasBom, spec.encoding === 'utf8-bom', spec.name);
    if (spec.encoding === 'gb18030') {
      assert.ok(!raw.subarray(0, 200).equals(Buffer.from(iconv.decode(raw.subarray(0, 200), 'gb18030'), 'utf8')), `${spec.name} is not UTF-8`);
      assert.ok(iconv.decode(raw, 'gb18030').startsWith(spec.header!.join(',')), spec.name);
    } else if (spec.header) {
      assert.ok(
        raw
          .toString('utf8')
          .replace(/^\uFEFF/, '')
          .startsWith(spec.header.join(',')),
        spec.name,
      );
    }
  }
  assert.equal(DEMO_FILES.tmallOrders.header[0], '订单编号');
  assert.equal(DEMO_FILES.jdOrders.header[13], '下单帐号');
  assert.equal(DEMO_FILES.douyinOrders.header[0], '主订单编号');
});

test('the manifest counts every row written', () => {
  for (const file of manifest.files) {
    const spec = DEMO_FILES[file.key];
    const lines = fs
      .readFileSync(path.join(dir, spec.name))
      .toString('latin1')
      .split('\n')
      .filter((l) => l.length > 0).length;
    assert.equal(file.rows, lines - (spec.header ? 1 : 0), spec.name);
    assert.ok(file.rows > 0, `${spec.name} has rows`);
  }
});

test('phones: masked in Tmall and Douyin, full in JD and the mini-program', () => {
  const masked = /^1\d{2}\*{4}\d{4}$/;
  const full = /^1\d{10}$/;
  assert.ok(read('tmallOrders').every((r) => masked.test(r['联系手机'])));
  assert.ok(read('douyinOrders').every((r) => masked.test(r['收件人手机号'])));
  assert.ok(read('jdOrders').every((r) => full.test(r['联系电话'])));
  assert.ok(read('miniOrders').every((r) => full.test(r['买家手机号'])));
});

test('people overlap across platforms and share identifiers', () => {
  const sources = new Map<string, Set<string>>();
  for (const r of read('truth')) {
    if (!sources.has(r.person_key)) sources.set(r.person_key, new Set());
    sources.get(r.person_key)!.add(r.source);
  }
  const multi = [...sources.values()].filter((s) => s.size >= 3).length;
  assert.ok(multi > PEOPLE * 0.05, `${multi} people on three or more sources`);
  // The mini-program order's phone equals the JD order's phone for the same person.
  const jdPhone = new Map(read('jdOrders').map((r) => [personOf.get(`jd:${r['订单号']}`), r['联系电话']]));
  const both = read('miniOrders').filter((r) => jdPhone.has(personOf.get(`miniprogram:${r['订单号']}`)));
  assert.ok(both.length > 0);
  assert.ok(both.every((r) => jdPhone.get(personOf.get(`miniprogram:${r['订单号']}`)) === r['买家手机号']));
});

test('WeChat: a UnionID with per-app OpenIDs; WeCom contacts with and without UnionID', () => {
  const members = read('members').filter((r) => r.UnionID);
  assert.ok(members.length > 0);
  assert.ok(members.every((r) => r.OpenID.startsWith('oM') && r.UnionID.startsWith('oU') && r.OpenID !== r.UnionID));
  const contacts = read('contacts');
  assert.ok(contacts.some((r) => r.UnionID) && contacts.some((r) => !r.UnionID));
  assert.ok(contacts.every((r) => r['外部联系人ID'].startsWith('wm') && r['所属员工账号'].startsWith('guide')));
  const event = JSON.parse(fs.readFileSync(path.join(dir, 'events.jsonl'), 'utf8').split('\n')[0]);
  assert.equal(event.type, 'track');
  assert.ok(event.messageId && event.timestamp && event.identities);
});

test("households share a phone; a store clerk's phone stands in for many walk-ins", () => {
  const peopleByPhone = new Map<string, Set<string>>();
  for (const r of read('jdOrders')) {
    const person = personOf.get(`jd:${r['订单号']}`)!;
    if (!peopleByPhone.has(r['联系电话'])) peopleByPhone.set(r['联系电话'], new Set());
    peopleByPhone.get(r['联系电话'])!.add(person);
  }
  for (const r of read('miniOrders')) {
    const person = personOf.get(`miniprogram:${r['订单号']}`)!;
    if (!peopleByPhone.has(r['买家手机号'])) peopleByPhone.set(r['买家手机号'], new Set());
    peopleByPhone.get(r['买家手机号'])!.add(person);
  }
  assert.ok(
    [...peopleByPhone.values()].some((s) => s.size === 2),
    'a household phone',
  );
  const clerk = new Map<string, Set<string>>();
  for (const r of read('pos')) {
    if (!r['会员手机号'].startsWith('199')) continue;
    if (!clerk.has(r['会员手机号'])) clerk.set(r['会员手机号'], new Set());
    clerk.get(r['会员手机号'])!.add(personOf.get(`store:${r['小票号']}`)!);
  }
  assert.ok(
    [...clerk.values()].some((s) => s.size >= 5),
    'one clerk phone for five or more people',
  );
});

test('typos: the same person appears under different spellings of their name', () => {
  const names = new Map<string, Set<string>>();
  const add = (person: string | undefined, name: string) => {
    if (!person) return;
    if (!names.has(person)) names.set(person, new Set());
    names.get(person)!.add(name);
  };
  for (const r of read('jdOrders')) add(personOf.get(`jd:${r['订单号']}`), r['客户姓名']);
  for (const r of read('tmallOrders')) add(personOf.get(`tmall:${r['订单编号']}`), r['收货人姓名']);
  for (const r of read('miniOrders')) add(personOf.get(`miniprogram:${r['订单号']}`), r['收货人']);
  assert.ok([...names.values()].some((s) => s.size > 1));
});

test('subscription packages split into weekly shipments', () => {
  const packages = new Map(
    read('miniOrders')
      .filter((r) => r['订单类型'] === '周期购')
      .map((r) => [r['订单号'], Number(r['周期购期数'])]),
  );
  assert.ok(packages.size > 0);
  const shipments = read('miniShipments');
  const perOrder = new Map<string, number>();
  for (const s of shipments) {
    assert.ok(packages.has(s['订单号']), 'each shipment belongs to a package order');
    perOrder.set(s['订单号'], (perOrder.get(s['订单号']) ?? 0) + 1);
  }
  for (const [order, count] of perOrder) assert.equal(count, packages.get(order), order);
  const first = shipments.filter((s) => s['订单号'] === shipments[0]['订单号']);
  const gap = (Date.parse(first[1]['计划送达日期']) - Date.parse(first[0]['计划送达日期'])) / 86_400_000;
  assert.ok(gap === 7 || first[0]['发货状态'] === '暂停配送', `weekly: ${gap} days`);
  assert.ok(read('tmallShipments').length > 0);
});

test('refunds, cancellations, and the 618 and 双11 peaks', () => {
  assert.ok(read('tmallRefunds').length > 0);
  const orders = read('tmallOrders');
  assert.ok(orders.some((r) => r['订单状态'] === '交易关闭' && r['订单付款时间'] === ''));
  const perDay = new Map<string, number>();
  for (const r of [...orders, ...read('jdOrders'), ...read('douyinOrders')]) {
    const day = (r['订单创建时间'] ?? r['下单时间'] ?? r['订单提交时间']).slice(5, 10);
    perDay.set(day, (perDay.get(day) ?? 0) + 1);
  }
  const counts = [...perDay.values()].sort((a, b) => a - b);
  const median = counts[Math.floor(counts.length / 2)];
  assert.ok((perDay.get('11-11') ?? 0) > 4 * median, `11-11: ${perDay.get('11-11')} vs median ${median}`);
  assert.ok((perDay.get('06-18') ?? 0) > 4 * median, `06-18: ${perDay.get('06-18')} vs median ${median}`);
});

test('buyers differ: many one-time buyers and a loyal core', () => {
  const orders = new Map<string, number>();
  for (const r of read('truth')) if (r.kind === 'order' || r.kind === 'receipt') orders.set(r.person_key, (orders.get(r.person_key) ?? 0) + 1);
  const once = [...orders.values()].filter((n) => n === 1).length;
  const loyal = [...orders.values()].filter((n) => n >= 8).length;
  assert.ok(once > orders.size * 0.3, `${once} one-time buyers`);
  assert.ok(loyal > orders.size * 0.03, `${loyal} buyers with eight or more orders`);
});

test('bad options are refused before anything is written', async () => {
  const out = path.join(tempDir(), 'never');
  await assert.rejects(generateDemoBrand({ people: 0, seed: 1, endDate: '2026-10-31', out }), /--people must be/);
  await assert.rejects(generateDemoBrand({ people: 10, seed: 1, endDate: '31/10/2026', out }), /--end-date must be/);
  assert.equal(fs.existsSync(out), false);
});
