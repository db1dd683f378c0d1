/**
 * The generated SQL of the heavy queries — every tag kind (the retail pack, a SQL tag, a rule over
 * profile fields), an order import read inside ClickHouse, a plan's audience with exclusions and the
 * "converted lately" holdout, a journey's entry and branch, a triggered plan, segment insights and
 * the access scope fragments — kept as reviewed files under test/golden/<area>/.
 *
 * The real code runs on the real embedded stores; `stores.facts` is wrapped so that every statement
 * it is given is also recorded (the wrapper forwards each call unchanged). A file shows each
 * statement with its bound parameters inlined as ClickHouse literals, then the parameters it
 * uses, by type and value, sorted: renaming a parameter changes no file, anything else does.
 * UPDATE_GOLDEN=1 rewrites them.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openTestStores, tempDir, uniqueSlug, ROOT } from './helpers.ts';
import type { Stores } from '../src/stores/stores.ts';
import type { FactsStore } from '../src/stores/facts/facts-store.ts';
import { WorkspaceService, type Workspace } from '../src/access/workspaces.ts';
import { runImport } from '../src/ingest/importer.ts';
import { installPack } from '../src/tags/packs/packs.ts';
import { saveTag } from '../src/tags/store.ts';
import { runTags } from '../src/tags/engine.ts';
import { dateInZone } from '../src/kernel/time.ts';
import { saveSegment } from '../src/segments/segments.ts';
import { segmentInsights, crossMatrix } from '../src/segments/insights.ts';
import { saveChannel } from '../src/channels/store.ts';
import { writeSecret } from '../src/secrets/secrets.ts';
import { savePlan, startPlan } from '../src/plans/plans.ts';
import { runDuePlans } from '../src/plans/run.ts';
import { evaluateTriggers } from '../src/plans/triggers.ts';
import { peopleInScope, peopleScope, peopleSeenInPart, sourceScope, identitySourcesScope } from '../src/access/scope.ts';

interface Statement {
  call: string;
  sql: string;
  params: Record<string, unknown>;
}

/** Forwards every call to the real store, recording the SQL it is given (not a mock: the store runs it). */
function recording(facts: FactsStore, log: Statement[]): FactsStore {
  return new Proxy(facts, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (property === 'query' || property === 'queryChunks' || property === 'queryRowBinary' || property === 'command') {
          log.push({ call: property, sql: args[0] as string, params: (args[1] as Record<string, unknown> | undefined) ?? {} });
        } else if (property === 'insertFromSandbox') {
          log.push({ call: `${property} ${args[0] as string} (${(args[1] as string[]).join(', ')})`, sql: args[2] as string, params: args[3] as Record<string, unknown> });
        }
        return value.apply(target, args);
      };
    },
  });
}

/** A value as a ClickHouse literal of its parameter's type (strings quoted, arrays bracketed; String needs no cast). */
function literal(value: unknown, type: string): string {
  const inner = /^Array\((.*)\)$/.exec(type)?.[1];
  if (value === null || value === undefined) return 'NULL';
  if (Array.isArray(value)) return `[${value.map((v) => literal(v, inner ?? 'String')).join(', ')}]`;
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  const text = value instanceof Date ? value.toISOString() : typeof value === 'object' ? JSON.stringify(value) : String(value);
  return `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]*):([^{}]+)\}/g;

/**
 * One statement: its text with every parameter inlined, then the parameters it uses by type and
 * value (sorted, once each). `stable` turns values that differ from run to run into fixed names.
 */
function renderStatement(statement: Statement, stable: (text: string) => string): string {
  const used = new Set<string>();
  const text = statement.sql.replace(PLACEHOLDER, (all, name: string, type: string) => {
    if (!(name in statement.params)) return all;
    const shown = literal(statement.params[name], type);
    used.add(`${type.trim()} ${shown}`);
    return type.trim() === 'String' ? shown : `${shown}::${type.trim()}`;
  });
  const params = [...used].map(stable).sort();
  return `-- ${statement.call}\n${stable(dedent(text.trim()))};\n${params.length ? `-- params:\n${params.map((p) => `--   ${p}`).join('\n')}\n` : ''}`;
}

/** The lines after the first moved left by their common indent: code that moves into a block re-indents its SQL, which means nothing. */
function dedent(text: string): string {
  const [first, ...rest] = text.split('\n');
  const indent = Math.min(...rest.filter((l) => l.trim()).map((l) => l.length - l.trimStart().length));
  return [first, ...rest.map((l) => l.slice(Number.isFinite(indent) ? indent : 0))].join('\n');
}

/**
 * Values that differ from run to run become fixed names: the workspace, random ids (runs, run
 * tables, numbered by first appearance in the file), the data directories, the version clock
 * (microseconds since 1970) and today.
 */
function stabiliser(workspaceId: string, today: string, dirs: string[]): (text: string) => string {
  const ids = new Map<string, string>();
  return (text) => {
    let out = text.replaceAll(workspaceId, 'ws_golden');
    for (const dir of dirs) out = out.replaceAll(dir, '<tmp>');
    out = out.replace(/\b([a-z][a-z_]*?)_([0-9a-f]{12,32})(?![0-9a-f])/g, (all, prefix: string) => {
      if (!ids.has(all)) ids.set(all, `${prefix}_<${ids.size + 1}>`);
      return ids.get(all)!;
    });
    return out.replace(/\b1[6-9]\d{14}\b/g, '<version>').replaceAll(`'${today}'`, `'<today>'`);
  };
}

const GOLDEN = path.join(ROOT, 'test', 'golden');
const written = new Set<string>();

function checkGolden(area: string, name: string, statements: Statement[]): void {
  const stable = stabiliser(ws.id, today, dirs);
  const text = `-- ${area}/${name}\n\n${statements.map((s) => renderStatement(s, stable)).join('\n')}`;
  const dir = path.join(GOLDEN, area);
  const file = path.join(dir, `${name}.sql`);
  written.add(path.relative(GOLDEN, file));
  if (process.env.UPDATE_GOLDEN === '1') {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(file, text);
  }
  assert.ok(fs.existsSync(file), `${file} is missing: run with UPDATE_GOLDEN=1`);
  if (text === fs.readFileSync(file, 'utf8')) return;
  // The new text beside the old, for a diff: the assertion's own excerpt shows too little of a long file.
  const actual = path.join(os.tmpdir(), 'siyu-golden-actual', area, `${name}.sql`);
  fs.mkdirSync(path.dirname(actual), { recursive: true });
  fs.writeFileSync(actual, text);
  assert.fail(`${area}/${name}: the generated SQL changed (now: ${actual}); review it and run with UPDATE_GOLDEN=1`);
}

let stores: Stores;
let recorded: Stores;
const log: Statement[] = [];
let ws: Workspace;
let today: string;
const dirs: string[] = [];
const BASE = '2026-06-30';
const NOW = new Date('2026-07-01T02:00:00Z');

/** The statements the action sends to the facts store. */
async function record(action: () => Promise<unknown>): Promise<Statement[]> {
  log.length = 0;
  await action();
  return log.splice(0);
}

function csv(name: string, lines: string[]): string {
  const dir = tempDir('siyu-golden-');
  dirs.push(dir);
  const file = path.join(dir, name);
  fs.writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

before(async () => {
  const dataDir = tempDir('siyu-golden-');
  dirs.push(dataDir);
  ({ stores } = await openTestStores(dataDir));
  recorded = { facts: recording(stores.facts, log), state: stores.state, dataDir: stores.dataDir, close: () => stores.close() };
  ws = await new WorkspaceService(stores.state).create({ slug: uniqueSlug('golden'), name: 'golden' });
  today = dateInZone(ws.timeZone);
  const members = csv('members.csv', [
    'member_no,phone,name,city,level,birthday',
    'MA,13800000001,张三,上海,金卡,1990-07-05',
    "MB,13800000002,O'Brien,北京,员工,",
    'MC,13800000003,李四,,银卡,1985-01-01',
  ]);
  const contacts = csv('contacts.csv', ['external_userid,staff_userid,staff_name,phone,added_at', 'wmA,s1,王导购,13800000001,2026-06-10 09:00:00']);
  await runImport(stores, { workspace: ws, kind: 'members', source: 'crm', files: [members] });
  await runImport(stores, { workspace: ws, kind: 'contacts', source: 'wecom', files: [contacts] });
});
after(async () => {
  await stores.close();
});

test('an order import read inside ClickHouse: its staging, checks and inserts', async () => {
  const orders = csv('orders.csv', [
    'order_id,ordered_at,amount,discount,status,member_no,phone,package_periods,sku,category,store_id',
    'a1,2026-06-01 10:00:00,100,20,completed,MA,,,S1,鲜炖燕窝,tmall_1',
    'a2,2026-06-20 10:00:00,200,0,completed,MA,,,S2,饮品,tmall_1',
    'b1,2026-06-02 10:00:00,300,0,completed,MB,,8,PKG8,礼盒,',
    'c1,2026-04-01 10:00:00,50,0,refunded,MC,,,S1,鲜炖燕窝,',
  ]);
  const statements = await record(() => runImport(recorded, { workspace: ws, kind: 'orders', source: 'tmall', files: [orders] }));
  assert.ok(
    statements.some((s) => /\bfile\(/.test(s.sql)),
    'the orders were read inside ClickHouse',
  );
  checkGolden('ingest', 'orders-sql-import', statements);
});

test("every tag of the retail pack, a SQL tag and a rule over profile fields: one file per tag, plus the run's start and end", async () => {
  await installPack(stores, ws.id, 'retail');
  await saveTag(stores, ws.id, {
    key: 'sql_orders',
    name: { zh: '订单数', en: 'Orders' },
    kind: 'sql',
    valueType: 'number',
    query: "SELECT person_id, count() AS value FROM orders WHERE status != 'x''y' GROUP BY person_id",
  });
  await saveTag(stores, ws.id, {
    key: 'rule_profile',
    name: { zh: '规则', en: 'Rule' },
    kind: 'rule',
    cases: [
      {
        when: {
          any: [
            { profile: 'level', op: 'in', value: ['金卡', "it's {x:String}"] },
            { profile: 'points', op: 'gt', value: 10 },
          ],
        },
        value: '重点',
      },
      { when: { statistic: { of: 'purchases', measure: 'sum', field: 'amount', windowDays: 90 }, op: 'gte', value: 150 }, value: '高消费' },
    ],
  });
  const perTag = new Map<string, Statement[]>();
  log.length = 0;
  await runTags(recorded, {
    workspaceId: ws.id,
    baseDate: BASE,
    onTag: (result) => {
      perTag.set(result.key, log.splice(0));
    },
  });
  const rest = log.splice(0);
  assert.ok(perTag.size >= 60, `every tag ran (${perTag.size})`);
  // The run's own tables are made before its first tag: they are the first statements recorded for it.
  const first = [...perTag.keys()][0];
  const firstStatements = perTag.get(first)!;
  const cut = firstStatements.findIndex((s) => /INSERT INTO tag_values|insertFromSandbox/.test(s.sql + s.call) || /FROM tag_values/.test(s.sql));
  checkGolden('tags', '_run-start', firstStatements.slice(0, Math.max(cut, 0)));
  perTag.set(first, firstStatements.slice(Math.max(cut, 0)));
  for (const [key, statements] of perTag) checkGolden('tags', key, statements);
  checkGolden('tags', '_run-end', rest);
});

test('segment insights and a cross matrix for a team: the segment, the scope and the tag values', async () => {
  await saveSegment(stores, ws.id, { key: 'gold', name: { zh: '金卡', en: 'Gold' }, conditions: [{ type: 'profile', field: 'level', op: 'eq', value: '金卡' }] });
  const viewer = { scope: { team: { id: 'team_a', name: 'A', sources: ['tmall', "it's"] }, staffUserId: 's1', staff: true } };
  const tree = { match: 'all' as const, conditions: [{ type: 'profile' as const, field: 'level', op: 'exists' as const }], today: BASE, viewer };
  checkGolden('segments-insights', 'insights-team', await record(() => segmentInsights(recorded, ws.id, tree as never, ['fav_category', 'spend_total'])));
  checkGolden('segments-insights', 'cross-matrix-team', await record(() => crossMatrix(recorded, ws.id, undefined, 'fav_category', 'lifecycle_stage', 12, viewer as never)));
});

test('the access scope fragments, alone and as the checks of a few people', async () => {
  const team = { scope: { team: { id: 'team_a', name: 'A', sources: ['tmall', "it's"] }, staffUserId: null, staff: false } };
  const staff = { scope: { team: null, staffUserId: "s1' OR 1", staff: true } };
  const both = { scope: { team: { id: 'team_a', name: 'A', sources: ['crm'] }, staffUserId: 's1', staff: true } };
  const fragments: Statement[] = [];
  for (const [name, caller] of Object.entries({ everyone: {}, team, staff, both })) {
    // Named as the functions were when the file was first written (peopleScopeSql…): the file is the same SQL.
    for (const [fn, fragment] of Object.entries({
      peopleScopeSql: peopleScope(caller as never, ws.id, 'p.person_id'),
      sourceScopeSql: sourceScope(caller as never),
      identitySourcesSql: identitySourcesScope(caller as never),
    })) {
      const { query, params } = fragment.toQuery();
      fragments.push({ call: `${fn} (${name})`, sql: query, params });
    }
  }
  checkGolden('access', 'scope-fragments', fragments);
  const caller = { ...both, workspaceId: ws.id } as never;
  checkGolden('access', 'people-in-scope', await record(() => peopleInScope(recorded, caller, [1, 2, 3])));
  checkGolden('access', 'people-seen-in-part', await record(() => peopleSeenInPart(recorded, caller, [1, 2, 3])));
});

test('a plan run: its audience with exclusion segments, the converted-lately holdout and addresses', async () => {
  await saveSegment(stores, ws.id, {
    key: 'members',
    name: { zh: '会员', en: 'Members' },
    conditions: [
      { type: 'identifier', identifierType: 'member_no' },
      { type: 'orders', count: { min: 1 }, window: { days: 30 } },
    ],
  });
  await saveSegment(stores, ws.id, { key: 'staff', name: { zh: '员工', en: 'Staff' }, conditions: [{ type: 'profile', field: 'level', op: 'eq', value: '员工' }] });
  await writeSecret(stores, ws.id, 'golden_secret', 'whsec_golden');
  await saveChannel(stores, ws.id, { key: 'hook', kind: 'webhook', address: 'phone', config: { url: 'https://hooks.example.com/siyu', secret: 'golden_secret' } });
  await savePlan(stores, ws.id, {
    key: 'golden_plan',
    name: '回馈',
    audience: { segment: 'members', exclude: ['staff', 'gold'], excludeConvertedDays: 7 },
    channel: 'hook',
    variants: [{ key: 'A', template: { text: '{{ person.name }}您好' } }],
    controlPercent: 10,
    goal: { kind: 'order', categories: ['鲜炖燕窝'], windowDays: 7 },
  });
  await startPlan(stores, ws.id, 'golden_plan');
  // Started now (the real clock), due by then: a fixed later instant keeps the holdout's bound fixed.
  const later = new Date('2030-01-01T02:00:00Z');
  const failures: string[] = [];
  const statements = await record(() => runDuePlans(recorded, { workspaceId: ws.id, now: () => later, publicUrl: 'https://siyu.example.com', log: (m) => failures.push(m) }));
  assert.deepEqual(
    failures.filter((m) => / failed: /.test(m)),
    [],
  );
  assert.ok(
    statements.some((s) => /INSERT INTO plan_audiences/.test(s.sql)),
    'the audience was fixed',
  );
  checkGolden(
    'plans',
    'audience-exclusions-holdout',
    statements.filter((s) => /plan_audiences|person_identities/.test(s.sql)),
  );
});

test('a triggered plan: the events it answers, within its segment, minus exclusions and an unless event', async () => {
  await saveSegment(stores, ws.id, { key: 'buyers', name: { zh: '买家', en: 'Buyers' }, conditions: [{ type: 'orders', count: { min: 1 } }] });
  await stores.facts.insertRows('events', [{ workspace_id: ws.id, message_id: 'golden-e1', event: 'Added to Cart', person_id: 1, timestamp: '2026-07-01 01:00:00.000' }]);
  await savePlan(stores, ws.id, {
    key: 'golden_trigger',
    name: '加购提醒',
    audience: { segment: 'buyers', exclude: ['staff'] },
    channel: 'hook',
    variants: [{ key: 'A', template: { text: '别忘了购物车' } }],
    controlPercent: 0,
    schedule: { kind: 'triggered', event: 'Added to Cart', delay: { minutes: 30 }, unless: { event: 'Order Completed' } },
  });
  await startPlan(stores, ws.id, 'golden_trigger');
  const { getPlan } = await import('../src/plans/plans.ts');
  const { plan } = await getPlan(stores, ws.id, 'golden_trigger');
  const statements = await record(() => evaluateTriggers(recorded, ws.id, plan, new Date(NOW.getTime() - 3_600_000), { now: () => NOW }));
  checkGolden(
    'plans',
    'triggered',
    statements.filter((s) => /FROM events/.test(s.sql)),
  );
});

test('a journey: who enters from its segment, and a branch over a segment tree', async () => {
  const { saveJourney, startJourney, advanceJourneys } = await import('../src/journeys/journeys.ts');
  await saveJourney(stores, ws.id, {
    key: 'golden_journey',
    name: '旅程',
    entry: { segment: 'gold' },
    first: 'which',
    steps: {
      which: {
        type: 'branch',
        match: 'any',
        conditions: [
          { type: 'profile', field: 'city', op: 'eq', value: '上海' },
          { type: 'identifier', identifierType: 'unionid' },
        ],
        yes: 'done',
        no: 'done',
      },
      done: { type: 'wait', days: 1 },
    },
  });
  await startJourney(stores, ws.id, 'golden_journey');
  const statements = await record(() => advanceJourneys(recorded, { now: () => NOW }));
  const selections = statements.filter((s) => /person_id IN \(SELECT|FROM \(SELECT person_id FROM/.test(s.sql));
  assert.ok(
    selections.some((s) => /\) WHERE person_id IN \{\w+:Array\(UInt64\)\}$/.test(s.sql)),
    'someone entered and took the branch',
  );
  checkGolden('journeys', 'entry-branch', selections);
});

test('no golden file is left that no case writes', () => {
  const files = fs.readdirSync(GOLDEN, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.sql') && !f.startsWith(`segments${path.sep}`));
  const stale = files.filter((f) => !written.has(f));
  if (process.env.UPDATE_GOLDEN === '1') for (const f of stale) fs.rmSync(path.join(GOLDEN, f));
  else assert.deepEqual(stale, [], 'golden files no case writes: run with UPDATE_GOLDEN=1');
});
