/**
 * The SQL tag sandbox on its own: the function allow-list against the ClickHouse we run, the
 * canonical text, the queries operators really write, the errors, and the limits of a run.
 * (The attacks are replayed over HTTP in test/security/sql-tags.test.ts.)
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { openTestStores, tempDir, uniqueSlug } from '../../test/helpers.ts';
import type { Stores } from '../stores/stores.ts';
import { sandboxedInsertSql } from '../stores/facts/facts-store.ts';
import { WorkspaceService, type Workspace } from '../access/workspaces.ts';
import { runImport } from '../ingest/importer.ts';
import { runTags } from './engine.ts';
import { personTags, saveTag } from './store.ts';
import { ALLOWED_FUNCTIONS, isAllowedFunction } from './sql-functions.ts';
import { checkSqlTag, sandboxedCanonical, SqlTagError, sqlTagLimits, treeOf } from './sql-tags.ts';

let stores: Stores;
let ws: Workspace;
const BASE = '2026-06-30';

function csv(name: string, lines: string[]): string {
  const file = path.join(tempDir(), name);
  fs.writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

before(async () => {
  ({ stores } = await openTestStores());
  ws = await new WorkspaceService(stores.state).create({ slug: uniqueSlug('sqltags'), name: 'sqltags' });
  await runImport(stores, {
    workspace: ws,
    kind: 'orders',
    source: 'erp',
    files: [csv('orders.csv', ['order_id,ordered_at,amount,member_no', 's1,2026-06-01 10:00,100,S1', 's2,2026-06-20 10:00,300,S1', 's3,2026-05-02 10:00,40,S2'])],
  });
});
after(async () => {
  await stores.close();
});

async function valueOf(key: string, member: string): Promise<unknown> {
  const [row] = await stores.facts.query<{ p: string }>(
    `SELECT person_id AS p FROM person_identities FINAL WHERE workspace_id = {ws:String} AND type = 'member_no' AND value = {v:String}`,
    { ws: ws.id, v: member },
  );
  return (await personTags(stores, ws.id, Number(row.p))).find((t) => t.key === key)?.value;
}

/** Saves and runs a SQL tag; returns its run. */
async function runSql(key: string, query: string, valueType: 'string' | 'number' | 'string_list' | 'date' | 'boolean' = 'number') {
  await saveTag(stores, ws.id, { key, name: { zh: key, en: key }, kind: 'sql', valueType, query }, { replace: true });
  const [run] = await runTags(stores, { workspaceId: ws.id, keys: [key], baseDate: BASE });
  return run;
}

test('the allow-list names functions ClickHouse has, and none that reach outside the query', async () => {
  const functions = await stores.facts.query<{ name: string; alias_to: string; categories: string }>('SELECT name, alias_to, categories FROM system.functions');
  // lambda, EXISTS and countDistinct are the parser's forms, rewritten before functions are looked up.
  const known = new Set(functions.map((f) => f.name.toLowerCase()).concat(['lambda', 'exists', 'countdistinct']));
  const missing = ALLOWED_FUNCTIONS.filter((name) => !known.has(name.toLowerCase()));
  assert.deepEqual(missing, [], 'every allowed name is a function of this ClickHouse');
  // Whole categories that read the server, dictionaries, files or models are out, and so are these.
  const outside = functions
    .filter((f) => /Dictionary|Introspection|Encryption|Machine Learning|\bAI\b|Random/.test(f.categories))
    .map((f) => f.name)
    .concat(['file', 'url', 'getSetting', 'getSettingOrDefault', 'getServerSetting', 'getMacro', 'hostName', 'FQDN', 'currentUser', 'currentDatabase', 'version', 'uptime'])
    .concat([
      'joinGet',
      'joinGetOrNull',
      'hasColumnInTable',
      'sleep',
      'sleepEachRow',
      'throwIf',
      'filesystemAvailable',
      'getClientHTTPHeader',
      'arrayReduce',
      'initializeAggregation',
      'formatQuery',
      'chdb',
      'input',
      'remote',
    ]);
  assert.deepEqual(outside.filter(isAllowedFunction), []);
  // Aggregates take combinators; other functions do not become allowed by a suffix.
  for (const name of ['sumIf', 'SUM', 'uniqArrayIf', 'avgOrNull', 'countDistinctIf', 'groupArrayDistinct', 'argMaxIf']) assert.ok(isAllowedFunction(name), name);
  for (const name of ['dictGetOrNull', 'fileIf', 'aggThrowIf', 'sleepIf', 'getSettingIf', 'constructor', '__proto__', 'toString2']) assert.ok(!isAllowedFunction(name), name);
});

test('what is checked and run is ClickHouse’s canonical text: comments are gone, and it parses the same again', async () => {
  assert.equal(
    await checkSqlTag(stores.facts, "select person_id, 'a;b' as value -- why\nfrom orders # note ; not a statement\n/* block */"),
    "SELECT person_id, 'a;b' AS value FROM orders",
  );
  assert.equal(
    await checkSqlTag(stores.facts, 'SELECT person_id, 1 AS value FROM orders WHERE day <= {base:Date}'),
    'SELECT person_id, 1 AS value FROM orders WHERE day <= {base:Date}',
  );
});

test('the queries operators write are accepted and compute their values', async () => {
  const cases: Array<[string, string, 'string' | 'number', Record<string, unknown>]> = [
    [
      'sql_cte',
      "WITH spend AS (SELECT person_id, sum(amount) AS s FROM purchases GROUP BY person_id) SELECT person_id, if(s > 100, 'big', 'small') AS value FROM spend",
      'string',
      { S1: 'big', S2: 'small' },
    ],
    [
      'sql_window',
      'SELECT person_id, max(n) AS value FROM (SELECT person_id, row_number() OVER (PARTITION BY person_id ORDER BY ordered_at) AS n FROM orders) GROUP BY person_id',
      'number',
      { S1: 2, S2: 1 },
    ],
    [
      'sql_case',
      "SELECT person_id, CASE WHEN countIf(amount >= 100) > 1 THEN 'loyal' ELSE 'new' END AS value FROM orders GROUP BY person_id",
      'string',
      { S1: 'loyal', S2: 'new' },
    ],
    ['sql_dates', "SELECT person_id, dateDiff('day', max(day), {base:Date}) AS value FROM purchases WHERE {tz:String} != '' GROUP BY person_id", 'number', { S1: 10, S2: 59 }],
    [
      'sql_union',
      'SELECT person_id, toFloat64(count()) AS value FROM (SELECT person_id FROM orders UNION ALL SELECT person_id FROM orders WHERE amount > 200) GROUP BY person_id',
      'number',
      { S1: 3, S2: 1 },
    ],
    [
      'sql_in',
      'SELECT person_id, 1 AS value FROM orders WHERE person_id IN (SELECT person_id FROM purchases WHERE amount < 50) GROUP BY person_id',
      'number',
      { S1: undefined, S2: 1 },
    ],
    ['sql_lambda', 'SELECT person_id, arraySum(arrayMap(x -> x * 2, groupArray(amount))) AS value FROM orders GROUP BY person_id', 'number', { S1: 800, S2: 80 }],
    ['sql_json', `SELECT person_id, JSONExtractString('{"tier":"gold"}', 'tier') AS value FROM orders GROUP BY person_id`, 'string', { S1: 'gold', S2: 'gold' }],
    ['sql_reads_tag', "SELECT person_id, concat(v_string, '!') AS value FROM tag_values WHERE tag = 'sql_cte'", 'string', { S1: 'big!', S2: 'small!' }],
  ];
  for (const [key, query, type, expected] of cases) {
    const run = await runSql(key, query, type);
    assert.equal(run.status, 'completed', `${key}: ${run.error}`);
    for (const [member, value] of Object.entries(expected)) assert.equal(await valueOf(key, member), value, `${key} ${member}`);
  }
});

test('errors say what is wrong in our words: where the text stops parsing, which function, table or column', async () => {
  const cases: Array<[string, RegExp]> = [
    ['SELECT person_id, sum(amount AS value FROM orders', /does not parse at character \d+, near «/],
    ['SELECT person_id, sum(amount) AS value FROM orders WHERE', /does not parse at character 57 \(it ends too soon\)/],
    ['SELECT person_id, nosuch AS value FROM orders', /^nosuch: no such column \(the tables are orders, order_lines/],
    ['SELECT person_id, 1 AS value FROM nosuch', /^nosuch is not a table or column a SQL tag can read/],
    ['SELECT person_id, rand() AS value FROM orders', /^function rand\(\) is not allowed in a SQL tag \(it may use arithmetic/],
    ['SELECT person_id, 1 AS value FROM orders SAMPLE 0.5', /^SAMPLE is not allowed in a SQL tag/],
    ['SELECT person_id, * APPLY(toString) FROM orders', /^APPLY is not allowed/],
    ['   ', /the query is empty/],
    ['SELECT person_id, `a\n      TableIdentifier orders` AS value FROM orders', /names may not contain backslashes, line breaks/],
  ];
  for (const [query, error] of cases) {
    await assert.rejects(
      saveTag(stores, ws.id, { key: 'sql_err', name: { zh: 'x', en: 'x' }, kind: 'sql', query: query.padEnd(10) }, { replace: true }),
      (e: Error & { issues?: Array<{ path: PropertyKey[]; message: string }> }) =>
        e.issues?.[0].path[0] === 'query' && error.test(e.issues[0].message) && !/DB::Exception|Code: \d/.test(e.issues[0].message),
      query,
    );
  }
  await assert.rejects(checkSqlTag(stores.facts, 'SELECT 1; SELECT 2'), (e: Error) => e instanceof SqlTagError && /one SELECT only/.test(e.message));
});

test("a run is held to the limits: rows read and time (the environment's SIYU_SQL_TAG_*), told in our words", async () => {
  const saved = { rows: process.env.SIYU_SQL_TAG_MAX_ROWS_TO_READ, seconds: process.env.SIYU_SQL_TAG_MAX_SECONDS, memory: process.env.SIYU_SQL_TAG_MAX_MEMORY_BYTES };
  try {
    process.env.SIYU_SQL_TAG_MAX_ROWS_TO_READ = '1';
    const rows = await runSql('sql_rows', 'SELECT person_id, count() AS value FROM orders GROUP BY person_id');
    assert.equal(rows.status, 'failed');
    assert.match(rows.error ?? '', /reads or returns too many rows \(SIYU_SQL_TAG_MAX_ROWS_TO_READ/);
    delete process.env.SIYU_SQL_TAG_MAX_ROWS_TO_READ;
    process.env.SIYU_SQL_TAG_MAX_SECONDS = '1';
    // Millions of rows made from each order, each an edit distance: seconds of work, little memory.
    const slow = await runSql(
      'sql_slow',
      "SELECT person_id, sum(editDistance(toString(x), 'abcdefghijklmnopqrstuvwxyz')) AS value FROM (SELECT person_id, arrayJoin(range(toUInt64(amount) * 20000)) AS x FROM orders) GROUP BY person_id",
    );
    assert.equal(slow.status, 'failed');
    assert.match(slow.error ?? '', /ran longer than 1 s \(SIYU_SQL_TAG_MAX_SECONDS\)/);
    // Saving resolves the query, scalar subqueries included, within 1 GiB, whatever a run may use.
    process.env.SIYU_SQL_TAG_MAX_SECONDS = '60';
    process.env.SIYU_SQL_TAG_MAX_MEMORY_BYTES = String(8 * 1024 ** 3);
    await assert.rejects(
      saveTag(stores, ws.id, {
        key: 'sql_heavy_constant',
        name: { zh: 'x', en: 'x' },
        kind: 'sql',
        query: 'SELECT person_id, (SELECT toString(arraySum(arrayMap(x -> x * 2, range(150000000))))) AS value FROM orders',
      }),
      (e: Error & { issues?: Array<{ message: string }> }) => /more than 1024 MiB of memory/.test(e.issues?.[0].message ?? ''),
    );
    delete process.env.SIYU_SQL_TAG_MAX_MEMORY_BYTES;
    // A malformed limit fails the run naming the variable (it does not throw out of the run).
    process.env.SIYU_SQL_TAG_MAX_SECONDS = 'soon';
    const [misconfigured] = await runTags(stores, { workspaceId: ws.id, keys: ['sql_rows'], baseDate: BASE });
    assert.equal(misconfigured.status, 'failed');
    assert.match(misconfigured.error ?? '', /SIYU_SQL_TAG_MAX_SECONDS must be a positive integer, got "soon"/);
  } finally {
    for (const [name, value] of [
      ['SIYU_SQL_TAG_MAX_ROWS_TO_READ', saved.rows],
      ['SIYU_SQL_TAG_MAX_SECONDS', saved.seconds],
      ['SIYU_SQL_TAG_MAX_MEMORY_BYTES', saved.memory],
    ] as const) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
  assert.throws(() => sqlTagLimits({ SIYU_SQL_TAG_MAX_SECONDS: 'soon' }), /SIYU_SQL_TAG_MAX_SECONDS must be a positive integer, got "soon"/);
  // The operator's SELECT runs read-only inside our insert, the limits on the whole statement.
  const sql = sandboxedInsertSql('tag_values', ['person_id'], 'SELECT 1 AS person_id', sqlTagLimits({}));
  assert.match(sql, /SELECT 1 AS person_id\s+SETTINGS readonly = 1\)\s+SETTINGS max_memory_usage = \d+, max_execution_time = 600/);
});

test('the default memory limit of a run is 1 GiB (one process shares a small server)', () => {
  assert.equal(sqlTagLimits({}).maxMemoryBytes, 1024 ** 3);
});

test('the parse tree is read back exactly or refused: a line that does not parse, a forged alias or name, a wrong child count', () => {
  const ok = ['SelectWithUnionQuery (children 1)', ' ExpressionList (children 1)', '  Literal UInt64_1 (alias value)'];
  assert.equal(treeOf(ok).children[0].children[0].children[0].name, 'UInt64_1');
  for (const lines of [
    // The red team's alias `t) x` printed unquoted: not a table named "source_records x)".
    ['TablesInSelectQuery (children 1)', ' TableIdentifier source_records (alias t) x)'],
    ['TableIdentifier source records'],
    ['Identifier a(b'],
    ['Function to String (children 1)', ' ExpressionList'],
    ['SelectQuery (children 2)', ' ExpressionList'],
    ['SelectQuery', ' ExpressionList'],
    ['SelectQuery (children 1)', '   ExpressionList'],
    ['Literal UInt64_1 (alias a b)'],
    ['Subquery orders (children 1)', ' SelectWithUnionQuery'],
    ['(children 1)'],
  ]) {
    assert.throws(() => treeOf(lines), SqlTagError, JSON.stringify(lines));
  }
});

test('the second check on its own: a table read outside the sandbox’s own CTEs is refused, even one the sandbox reads itself', async () => {
  const params = { ws: ws.id, base: BASE, tz: 'UTC', sql_tag_runs: [] };
  // As if the first check had let these through: source_records is read by the sandbox (for its people), but not for the operator.
  for (const canonical of [
    'SELECT person_id, toString(groupArray(name)) AS value FROM source_records GROUP BY person_id',
    'SELECT p.person_id AS person_id, s.v AS value FROM (SELECT person_id FROM orders LIMIT 1) AS p CROSS JOIN (SELECT toString(groupUniqArray(name)) AS v FROM source_records AS `t) x`) AS s',
    'SELECT person_id, toString(amount) AS value FROM default.orders',
    'SELECT person_id, (SELECT toString(count()) FROM source_records) AS value FROM orders',
    // A scalar subquery folded into a constant was printed as __getScalar('<hash>'), its table gone from the tree.
    'SELECT person_id, toString((SELECT groupArray(name) FROM source_records)[1]) AS value FROM orders',
    "SELECT person_id, if(1, 'x', (SELECT any(name) FROM source_records)) AS value FROM orders",
    'WITH (SELECT groupArray(name) FROM source_records) AS s SELECT person_id, toString(s) AS value FROM orders',
    'SELECT person_id, 1 AS value FROM orders WHERE person_id IN (SELECT person_id FROM person_identities)',
    'WITH orders AS (SELECT * FROM default.orders) SELECT person_id, 1 AS value FROM orders',
    "SELECT number AS person_id, 'x' AS value FROM numbers(3)",
  ]) {
    await assert.rejects(
      sandboxedCanonical(stores.facts, canonical, 'string', params),
      (e: Error) => e instanceof SqlTagError && /cannot read|cannot do|not a table/.test(e.message),
      canonical,
    );
  }
  // The sandbox's own tables pass, however nested.
  const sql = await sandboxedCanonical(
    stores.facts,
    'SELECT person_id, toString(count()) AS value FROM (SELECT * FROM orders) WHERE person_id IN (SELECT person_id FROM purchases) GROUP BY person_id',
    'string',
    params,
  );
  assert.match(sql, /source_records FINAL WHERE workspace_id = \{ws:String\}/);
});
