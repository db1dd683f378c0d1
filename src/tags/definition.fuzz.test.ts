/**
 * Property tests (fast-check) over tag definitions: the schema never throws but a ZodError and takes
 * only its own field names; POST /api/v1/tags never answers 500 nor shows ClickHouse's text, in
 * bounded time; and a SQL tag built from random SQL fragments, comments, quotes and separators is
 * either refused in our words or, run, gives only its own workspace's people and data.
 * FC_SEED / FC_RUNS in the environment replay a seed or run longer; failures found are kept below
 * as examples (regressions).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { fuzzSeed } from '../../test/fuzz-seed.ts';
import { ZodError } from 'zod';
import type { FastifyInstance } from 'fastify';
import { callApi, openTestStores, startTestServer, tempDir, workspaceWithKeys } from '../../test/helpers.ts';
import type { Stores } from '../stores/stores.ts';
import type { Workspace } from '../access/workspaces.ts';
import { runImport } from '../ingest/importer.ts';
import { EVENT_FIELDS, PURCHASE_FIELDS, tagDefinitionSchema } from './definition.ts';

let stores: Stores;
let app: FastifyInstance;
let base: string;
let a: Workspace;
let b: Workspace;
let operator: string;
const seed = fuzzSeed;
const runs = (n: number) => (process.env.FC_RUNS ? Number(process.env.FC_RUNS) : n);

/** B's data is marked, so that any of it in A's values is seen. */
const VICTIM = 'VICTIM';

function csv(lines: string[]): string {
  const file = path.join(tempDir(), 'orders.csv');
  fs.writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

before(async () => {
  ({ stores } = await openTestStores());
  ({ ws: a, operator } = await workspaceWithKeys(stores, 'tagfuzz-a'));
  ({ ws: b } = await workspaceWithKeys(stores, 'tagfuzz-b'));
  ({ app, base } = await startTestServer(stores, { resolveAfterMs: 0 }));
  await runImport(stores, {
    workspace: a,
    kind: 'orders',
    source: 'erp',
    files: [csv(['order_id,ordered_at,amount,member_no', 'a1,2026-06-01 10:00,100,A1', 'a2,2026-06-02 10:00,50,A2'])],
  });
  await runImport(stores, {
    workspace: b,
    kind: 'orders',
    source: 'erp',
    files: [
      csv([
        'order_id,ordered_at,amount,member_no,store_id',
        `${VICTIM}1,2026-06-01 10:00,987654,${VICTIM}-B1,${VICTIM}-store`,
        `${VICTIM}2,2026-06-03 10:00,987654,${VICTIM}-B2,${VICTIM}-store`,
      ]),
    ],
  });
});
after(async () => {
  await app.close();
  await stores.close();
});

const call = (method: string, route: string, body?: unknown) => callApi(base, method, route, operator, body);
const CLICKHOUSE_TEXT = /DB::Exception|Code: \d+\.|SYNTAX_ERROR|UNKNOWN_[A-Z]|In scope|Stack trace|__table\d/;
const PROTOTYPE_NAMES = Object.getOwnPropertyNames(Object.prototype);

test('a statistic names only its own fields: constructor, __proto__, toString … are refused, naming the field', () => {
  const statistic = (field: string, measure = 'max') => ({ key: 'stat', name: { zh: 'x', en: 'x' }, kind: 'statistic', of: 'purchases', measure, field });
  for (const name of PROTOTYPE_NAMES) {
    for (const measure of ['max', 'last', 'sum']) {
      const parsed = tagDefinitionSchema.safeParse(statistic(name, measure));
      assert.equal(parsed.success, false, `${measure} of ${name}`);
      assert.deepEqual(parsed.error?.issues[0].path, ['field'], name);
    }
    const rule = {
      key: 'rule',
      name: { zh: 'x', en: 'x' },
      kind: 'rule',
      cases: [{ when: { statistic: { of: 'events', measure: 'last', field: name }, op: 'eq', value: 1 }, value: 'x' }],
    };
    assert.equal(tagDefinitionSchema.safeParse(rule).success, false, `rule over ${name}`);
  }
  fc.assert(
    fc.property(
      fc.oneof(fc.string(), fc.constantFrom(...PROTOTYPE_NAMES, ...Object.keys(PURCHASE_FIELDS), ...Object.keys(EVENT_FIELDS))),
      fc.constantFrom('purchases', 'events'),
      (field, of) => {
        const parsed = tagDefinitionSchema.safeParse({ ...statistic(field), of });
        assert.equal(parsed.success, Object.hasOwn(of === 'purchases' ? PURCHASE_FIELDS : EVENT_FIELDS, field));
      },
    ),
    { seed, numRuns: runs(300) },
  );
});

/** Definitions near the real ones (a valid kind, fields that may or may not fit), and anything JSON. */
const definition = fc.oneof(
  fc.jsonValue(),
  fc.record(
    {
      key: fc.oneof(fc.stringMatching(/^[a-z][a-z0-9_]{1,20}$/), fc.string(), fc.constantFrom('constructor', '__proto__', 'run')),
      name: fc.oneof(fc.record({ zh: fc.string(), en: fc.string() }), fc.jsonValue()),
      kind: fc.constantFrom(
        'statistic',
        'preference',
        'rfm',
        'purchase_cycle',
        'lifecycle',
        'model',
        'rule',
        'manual',
        'subscription',
        'wecom',
        'tier',
        'sql',
        'imported',
        'profile',
        'constructor',
      ),
      of: fc.constantFrom('purchases', 'events', 'toString', 'spend'),
      measure: fc.constantFrom('count', 'sum', 'max', 'valueOf'),
      field: fc.constantFrom('amount', 'timestamp', 'constructor', '__proto__', 'hasOwnProperty', 'level'),
      query: fc.string({ maxLength: 200 }),
      valueType: fc.constantFrom('string', 'number', 'date', 'toString'),
      dependsOn: fc.array(fc.string(), { maxLength: 3 }),
      windowDays: fc.oneof(fc.integer(), fc.double()),
    },
    { requiredKeys: ['kind'] },
  ),
);

test('POST /api/v1/tags with arbitrary and near-valid definitions: 201, 400 or 409, in our words, in bounded time', async () => {
  await fc.assert(
    fc.asyncProperty(definition, async (body) => {
      const started = Date.now();
      const response = await call('POST', '/api/v1/tags', body);
      assert.ok([201, 400, 409].includes(response.status), `${response.status}: ${response.text}`);
      assert.doesNotMatch(response.text, CLICKHOUSE_TEXT);
      assert.ok(Date.now() - started < 5000, 'answered within 5 s');
      // A body with a __proto__ key never reaches validation: the JSON parser refuses it (invalid_json).
      if (response.status === 400) assert.ok(['validation_failed', 'invalid_json'].includes(response.json.error.code), response.text);
    }),
    { seed, numRuns: runs(60) },
  );
});

/** SQL as an attacker would build it: words, names, comments, quotes, separators and tricks. */
const FRAGMENTS = [
  'SELECT',
  'person_id',
  ',',
  'value',
  'AS',
  '1',
  "'x'",
  'FROM',
  'orders',
  'purchases',
  'events',
  'tag_values',
  'products',
  'person_identities',
  'source_records',
  'system.tables',
  'default.orders',
  'system.one',
  'INFORMATION_SCHEMA.TABLES',
  'WHERE',
  'OR',
  '1 = 1',
  'workspace_id',
  'GROUP BY',
  'UNION ALL',
  'IN',
  '(',
  ')',
  'LIMIT 1',
  'count()',
  'sum(amount)',
  'toString(',
  'arrayJoin([1, 2])',
  'file(',
  'url(',
  'dictGet(',
  'remote(',
  'numbers(10)',
  "getSetting('max_threads')",
  ';',
  '#',
  '#!',
  '--',
  '/*',
  '*/',
  "'",
  '"',
  '`',
  '\\',
  '\n',
  '\r',
  '\t',
  ' ',
  '；',
  '\u200b',
  '\u00a0',
  '\u2028',
  '{ws:String}',
  '{base:Date}',
  '{tz:String}',
  '{sql_tag_runs:Array(String)}',
  'SETTINGS readonly = 0',
  'FORMAT JSON',
  "INTO OUTFILE 'x'",
  'INSERT INTO tag_values',
  'CREATE TABLE fuzz_pwned (x UInt8) ENGINE = Memory',
  'DROP TABLE orders',
  'EXPLAIN',
];
const HEADS = ['SELECT person_id, ', 'SELECT person_id, toString(count()) AS value FROM orders ', 'WITH t AS (SELECT * FROM orders) SELECT person_id, ', ''];
const EXPRESSIONS = [
  "'x'",
  'toString(count())',
  'toString(sum(amount))',
  'groupArray(order_id)',
  'toString(max(ordered_at))',
  'any(source)',
  'toString(person_id)',
  "getSetting('max_threads')",
  'hostName()',
];
const TABLES = ['orders', 'purchases', 'events', 'order_lines', 'tag_values', 'person_identities', 'default.orders', 'system.tables', 'numbers(3)', '(SELECT * FROM orders)'];
const sqlText = fc.oneof(
  fc
    .tuple(fc.constantFrom(...HEADS), fc.array(fc.constantFrom(...FRAGMENTS), { maxLength: 14 }), fc.constantFrom(' ', '', '\n'))
    .map(([head, words, separator]) => (head + words.join(separator)).padEnd(10)),
  // Nearer to real queries, so that many run: a value, a table, a grouping, and a random tail.
  fc
    .tuple(fc.constantFrom(...EXPRESSIONS), fc.constantFrom(...TABLES), fc.array(fc.constantFrom(...FRAGMENTS), { maxLength: 4 }))
    .map(([value, table, tail]) => `SELECT person_id, ${value} AS value FROM ${table} GROUP BY person_id ${tail.join(' ')}`),
);

/** Attacks found while writing the sandbox, replayed every time. */
const REGRESSIONS = [
  `SELECT person_id, 'x' AS value FROM orders # '\n; CREATE TABLE fuzz_pwned (x UInt8) ENGINE = Memory; SELECT 1 # '`,
  `SELECT person_id, 'x' AS value FROM orders #! '\n; INSERT INTO tag_values (workspace_id, person_id) SELECT 'x', 1; SELECT 1 #! '`,
  'SELECT person_id, value FROM (SELECT * FROM orders) AS o, person_identities AS p',
  'SELECT person_id, toString(sum(amount)) AS value FROM orders WHERE 1 OR workspace_id != {tz:String} GROUP BY person_id',
  "SELECT person_id, 'x' AS value FROM person\u200b_identities",
  'SELECT person_id, toString(count()) AS value FROM orders GROUP BY person_id',
];

async function tableNames(): Promise<string> {
  return (await stores.facts.query<{ name: string }>("SELECT name FROM system.tables WHERE database = currentDatabase() AND NOT startsWith(name, 'tag_run_') ORDER BY name"))
    .map((t) => t.name)
    .join(',');
}

let serial = 0;
test('a SQL tag from random fragments is refused in our words, or runs giving only its own workspace’s people and data', async () => {
  const tablesBefore = await tableNames();
  const [{ n: victimOrders }] = await stores.facts.query<{ n: string }>('SELECT count() AS n FROM orders FINAL WHERE workspace_id = {ws:String}', { ws: b.id });
  // A's people as OneID knows them when the tag ran.
  const peopleOfA = async () =>
    new Set(
      (await stores.facts.query<{ p: string }>('SELECT DISTINCT toString(person_id) AS p FROM source_records FINAL WHERE workspace_id = {ws:String}', { ws: a.id })).map(
        (r) => r.p,
      ),
    );
  let accepted = 0;
  await fc.assert(
    fc.asyncProperty(sqlText, fc.constantFrom('string', 'number', 'string_list'), async (query, valueType) => {
      const key = `fuzz_${++serial}`;
      const started = Date.now();
      const saved = await call('POST', '/api/v1/tags', { key, name: { zh: key, en: key }, kind: 'sql', valueType, query });
      assert.ok(saved.status === 201 || saved.status === 400, `${saved.status}: ${saved.text}`);
      assert.doesNotMatch(saved.text, CLICKHOUSE_TEXT);
      if (saved.status === 400) {
        assert.match(saved.json.error.message, /^query: /);
        return;
      }
      accepted++;
      const ran = await call('POST', '/api/v1/tags/run', { keys: [key], baseDate: '2026-06-30' });
      assert.equal(ran.status, 200, ran.text);
      assert.doesNotMatch(ran.text, CLICKHOUSE_TEXT);
      const values = await stores.facts.query<{ p: string; text: string }>(
        'SELECT toString(person_id) AS p, toString(tuple(v_string, v_number, v_list)) AS text FROM tag_values WHERE workspace_id = {ws:String} AND tag = {tag:String}',
        { ws: a.id, tag: key },
      );
      const people = await peopleOfA();
      for (const v of values) {
        assert.ok(people.has(v.p), `person ${v.p} is not one of A's`);
        assert.doesNotMatch(v.text, new RegExp(`${VICTIM}|987654`), "no B data in A's values");
      }
      assert.ok(Date.now() - started < 20_000, 'saved and run within 20 s');
    }),
    { seed, numRuns: runs(200), examples: REGRESSIONS.map((query) => [query, 'string'] as [string, string]) },
  );
  assert.ok(accepted >= 5, `some of the queries were accepted and run (${accepted})`);
  assert.equal(await tableNames(), tablesBefore, 'no table was created or dropped');
  const [{ n: after }] = await stores.facts.query<{ n: string }>('SELECT count() AS n FROM orders FINAL WHERE workspace_id = {ws:String}', { ws: b.id });
  assert.equal(after, victimOrders, "B's orders are untouched");
  // Nothing above stopped the server.
  assert.equal((await call('GET', '/api/v1/tags')).status, 200);
});

/** Names and aliases as an attacker would quote them: brackets, spaces, quotes, dots, line breaks, the tree's own words. */
const NAME_PIECES = [
  ')',
  '(',
  ' ',
  '`',
  '"',
  "'",
  '\n',
  '\r',
  '.',
  ',',
  'é',
  '中',
  '\u200b',
  '\u2028',
  '\\',
  't',
  'x',
  'value',
  'source_records',
  '(alias y)',
  ' (children 1)',
  ' x)',
  'TableIdentifier orders',
];
const weirdName = fc.array(fc.constantFrom(...NAME_PIECES), { minLength: 1, maxLength: 5 }).map((pieces) => pieces.join(''));
/** A name quoted as ClickHouse reads it: in backticks or double quotes, the quote and backslash escaped. */
const quoted = fc.tuple(weirdName, fc.constantFrom('`', '"')).map(([name, q]) => q + name.replaceAll('\\', '\\\\').replaceAll(q, `\\${q}`) + q);
const LEAK_TABLES = ['source_records', 'person_identities', 'orders', 'purchases', 'events', '(SELECT * FROM source_records)'];
const namedSql = fc.oneof(
  // The red team's shape: one person of A, and everything of a table aliased with a forged name.
  fc
    .tuple(fc.constantFrom(...LEAK_TABLES), quoted)
    .map(
      ([table, alias]) =>
        `SELECT p.person_id AS person_id, s.v AS value FROM (SELECT person_id FROM orders LIMIT 1) AS p CROSS JOIN (SELECT toString(groupUniqArray(tuple(*))) AS v FROM ${table} AS ${alias}) AS s`,
    ),
  // A forged column alias carried through a subquery.
  fc
    .tuple(fc.constantFrom(...LEAK_TABLES), quoted)
    .map(([table, alias]) => `SELECT person_id, toString(${alias}) AS value FROM (SELECT person_id, tuple(*) AS ${alias} FROM ${table})`),
  // A forged table or CTE name.
  fc.tuple(quoted, fc.constantFrom(...LEAK_TABLES)).map(([name, table]) => `WITH ${name} AS (SELECT * FROM ${table}) SELECT person_id, toString(tuple(*)) AS value FROM ${name}`),
  fc.tuple(quoted, quoted).map(([table, column]) => `SELECT person_id, toString(${column}) AS value FROM ${table}`),
);

test('a SQL tag whose names and aliases hold brackets, spaces, quotes, dots, line breaks or unicode never returns another workspace’s data', async () => {
  const [{ n: victimOrders }] = await stores.facts.query<{ n: string }>('SELECT count() AS n FROM orders FINAL WHERE workspace_id = {ws:String}', { ws: b.id });
  await fc.assert(
    fc.asyncProperty(namedSql, async (query) => {
      const key = `fuzz_name_${++serial}`;
      const saved = await call('POST', '/api/v1/tags', { key, name: { zh: key, en: key }, kind: 'sql', valueType: 'string', query });
      assert.ok(saved.status === 201 || saved.status === 400, `${saved.status}: ${saved.text}`);
      assert.doesNotMatch(saved.text, CLICKHOUSE_TEXT);
      if (saved.status === 400) {
        assert.match(saved.json.error.message, /^query: /);
        return;
      }
      const ran = await call('POST', '/api/v1/tags/run', { keys: [key], baseDate: '2026-06-30' });
      assert.equal(ran.status, 200, ran.text);
      assert.doesNotMatch(ran.text, CLICKHOUSE_TEXT);
      const values = await stores.facts.query<{ text: string }>(
        'SELECT toString(tuple(v_string, v_number, v_list)) AS text FROM tag_values WHERE workspace_id = {ws:String} AND tag = {tag:String}',
        { ws: a.id, tag: key },
      );
      for (const v of values) assert.doesNotMatch(v.text, new RegExp(`${VICTIM}|987654|${b.id}`), `no B data in A's values: ${query}`);
    }),
    {
      seed,
      numRuns: runs(80),
      examples: [
        [
          'SELECT p.person_id AS person_id, s.v AS value FROM (SELECT person_id FROM orders LIMIT 1) AS p CROSS JOIN (SELECT toString(groupUniqArray((workspace_id, name, identifiers))) AS v FROM source_records AS `t) x`) AS s',
        ],
        [
          'SELECT p.person_id AS person_id, s.v AS value FROM (SELECT person_id FROM orders LIMIT 1) AS p CROSS JOIN (SELECT toString(groupUniqArray(tuple(*))) AS v FROM source_records AS "t (alias y)") AS s',
        ],
      ],
    },
  );
  const [{ n: after }] = await stores.facts.query<{ n: string }>('SELECT count() AS n FROM orders FINAL WHERE workspace_id = {ws:String}', { ws: b.id });
  assert.equal(after, victimOrders, "B's orders are untouched");
});

test('the schema never throws anything but a ZodError', () => {
  fc.assert(
    fc.property(definition, (body) => {
      try {
        tagDefinitionSchema.parse(body);
      } catch (error) {
        assert.ok(error instanceof ZodError, String(error));
      }
    }),
    { seed, numRuns: runs(500) },
  );
});
