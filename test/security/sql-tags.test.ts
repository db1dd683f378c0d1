/**
 * SQL tags, attacked over HTTP by an operator of workspace A with workspace B on the same stores.
 * Every query here reached ClickHouse as text before (a `# ` comment hid a `;` from the check, and
 * chDB ran the second statement while checking the first). Now each is refused when saved (400,
 * naming the query field, in our words) or, if it is a real SELECT, runs inside the sandbox.
 */
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { callApi, openTestStores, startTestServer, tempDir, workspaceWithKeys } from '../helpers.ts';
import type { Stores } from '../../src/stores/stores.ts';
import type { Workspace } from '../../src/access/workspaces.ts';
import { runImport } from '../../src/ingest/importer.ts';

let stores: Stores;
let app: FastifyInstance;
let base: string;
let a: Workspace;
let b: Workspace;
let operator: string;
let victimOperator: string;
const BASE = '2026-06-30';

function csv(lines: string[]): string {
  const file = path.join(tempDir(), 'orders.csv');
  fs.writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

before(async () => {
  ({ stores } = await openTestStores());
  ({ ws: a, operator } = await workspaceWithKeys(stores, 'sqlsec-a'));
  ({ ws: b, operator: victimOperator } = await workspaceWithKeys(stores, 'sqlsec-b'));
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
    files: [csv(['order_id,ordered_at,amount,member_no,phone', 'b1,2026-06-01 10:00,900,B1,13800138001', 'b2,2026-06-03 10:00,700,B2,13800138002'])],
  });
});
after(async () => {
  await app.close();
  await stores.close();
});

const call = (method: string, route: string, token: string, body?: unknown) => callApi(base, method, route, token, body);
let serial = 0;

/** ClickHouse's own words: none of them may reach the operator. */
const CLICKHOUSE_TEXT = /DB::Exception|Code: \d+|SYNTAX_ERROR|UNKNOWN_|In scope|Stack trace|__table\d|source_records|tag_values FINAL/;

/** Answers that showed ClickHouse's text: checked after each test (its effects are checked first). */
const leaks: string[] = [];
afterEach(() => assert.deepEqual(leaks.splice(0), [], 'no ClickHouse text in the answers'));

/** Saves and runs a SQL tag in A: what A's operator is told, and the run when it got that far. */
async function attempt(query: string, valueType = 'string'): Promise<{ refused: string | undefined; run?: { status: string; error?: string; people: number }; key: string }> {
  const key = `sql_attack_${++serial}`;
  const saved = await call('POST', '/api/v1/tags', operator, { key, name: { zh: '攻击', en: 'Attack' }, kind: 'sql', valueType, query });
  assert.ok(saved.status === 201 || saved.status === 400, `saved with ${saved.status}: ${saved.text}`);
  if (saved.status === 400) {
    assert.match(saved.json.error.message, /^query: /, 'the error names the field');
    if (CLICKHOUSE_TEXT.test(saved.text)) leaks.push(saved.text);
    return { refused: saved.json.error.message, key };
  }
  const ran = await call('POST', '/api/v1/tags/run', operator, { keys: [key], baseDate: BASE });
  assert.equal(ran.status, 200, ran.text);
  if (CLICKHOUSE_TEXT.test(ran.text)) leaks.push(ran.text);
  return { refused: undefined, run: ran.json.runs[0], key };
}

/** Everything B holds, to compare before and after. */
async function victimState(): Promise<string> {
  const tables = ['orders', 'person_identities', 'source_records', 'tag_values'];
  const counts = await Promise.all(
    tables.map(async (t) => (await stores.facts.query<{ n: string }>(`SELECT count() AS n FROM ${t} WHERE workspace_id = {ws:String}`, { ws: b.id }))[0].n),
  );
  return counts.join(',');
}

async function tablesNamed(prefix: string): Promise<string[]> {
  return (await stores.facts.query<{ name: string }>('SELECT name FROM system.tables WHERE startsWith(name, {p:String})', { p: prefix })).map((r) => r.name);
}

/** Values in A's tags that are B's data (its identifiers, its order amounts): the loot of a cross-workspace read. */
async function victimDataInAttackerValues(): Promise<number> {
  const [{ n }] = await stores.facts.query<{ n: string }>(
    `SELECT count() AS n FROM tag_values WHERE workspace_id = {a:String}
       AND (v_string IN (SELECT value FROM person_identities FINAL WHERE workspace_id = {b:String}) OR v_number IN (900, 700, 1600) OR v_string IN ('900', '700', '1600'))`,
    { a: a.id, b: b.id },
  );
  return Number(n);
}

test('a ; hidden behind a ClickHouse comment (# , #!, --, /* */, nested /* */) never runs a second statement', async () => {
  const before = await victimState();
  const second = (n: number) => `CREATE TABLE pwned_comment_${n} (x UInt8) ENGINE = Memory`;
  // `#` is a comment to ClickHouse but not to a JavaScript check, so the quote after it hid the rest.
  const payloads = [
    `SELECT person_id, 'x' AS value FROM orders # '\n; ${second(1)}; SELECT 1 # '`,
    `SELECT person_id, 'x' AS value FROM orders #! '\n; ${second(2)}; SELECT 1 #! '`,
    `SELECT person_id, 'x' AS value FROM orders -- '\n; ${second(3)}`,
    `SELECT person_id, 'x' AS value FROM orders /* ' */ ; ${second(4)} /* ' */`,
    `SELECT person_id, 'x' AS value FROM orders /* a /* nested */ ; ${second(5)} */ ; ${second(6)}`,
    `SELECT person_id, 'x' AS value FROM orders # '\n; INSERT INTO tag_values (workspace_id, tag, run_id, base_date, person_id, v_string) SELECT '${a.id}', 'loot', 'loot', today(), person_id, value FROM person_identities FINAL WHERE workspace_id = '${b.id}'; SELECT 1 # '`,
    `SELECT person_id, 'x' AS value FROM orders # '\n; INSERT INTO orders (workspace_id, source, order_id, person_id, amount) VALUES ('${b.id}', 'erp', 'forged', 1, 1); SELECT 1 # '`,
  ];
  const results = [];
  for (const query of payloads) results.push(await attempt(query));
  // What happened first, then what A was told.
  assert.deepEqual(await tablesNamed('pwned_comment_'), [], 'no second statement ran');
  assert.equal(await victimState(), before, "B's data is untouched");
  assert.equal(await victimDataInAttackerValues(), 0, "B's identities were not copied into A's tag values");
  for (const [i, result] of results.entries()) assert.match(result.refused ?? '', /one SELECT only/, payloads[i]);
});

test('a ; inside a string is data; outside one (or after FORMAT, or closing EXPLAIN) it is refused', async () => {
  const data = await attempt(`SELECT person_id, 'a;b # c -- d' AS value FROM orders`);
  assert.equal(data.refused, undefined);
  assert.equal(data.run?.status, 'completed');
  const values = await stores.facts.query<{ v: string }>(`SELECT DISTINCT v_string AS v FROM tag_values WHERE workspace_id = {ws:String} AND tag = {tag:String}`, {
    ws: a.id,
    tag: data.key,
  });
  assert.deepEqual(
    values.map((r) => r.v),
    ['a;b # c -- d'],
  );
  for (const query of [
    `SELECT person_id, 'x' AS value FROM orders; CREATE TABLE pwned_semicolon (x UInt8) ENGINE = Memory`,
    `SELECT person_id, 'x' AS value FROM orders FORMAT JSON; CREATE TABLE pwned_format (x UInt8) ENGINE = Memory`,
    `SELECT person_id, 'x' AS value FROM orders) ; CREATE TABLE pwned_explain (x UInt8) ENGINE = Memory; SELECT (1`,
  ]) {
    const result = await attempt(query);
    assert.ok(result.refused, query);
  }
  assert.deepEqual(await tablesNamed('pwned_'), []);
});

test('INSERT INTO FUNCTION file(...) writes no file, however it is dressed', async () => {
  const name = `pwned_${process.pid}.csv`;
  const write = `INSERT INTO FUNCTION file('${name}', 'CSV', 'x String') SELECT 'owned'`;
  const queries = [write, `SELECT person_id, 'x' AS value FROM orders # '\n; ${write}; SELECT 1 # '`, `SELECT person_id, 'x' AS value FROM orders #!'\n;${write}`];
  const results = [];
  for (const query of queries) results.push(await attempt(query));
  // chDB writes file() relative to the process's directory.
  const written = [process.cwd(), stores.facts.location].map((dir) => path.join(dir, name)).filter((file) => fs.existsSync(file));
  for (const file of written) fs.rmSync(file);
  assert.deepEqual(written, [], 'no file was written');
  for (const [i, result] of results.entries()) assert.ok(result.refused, queries[i]);
});

test('system tables, other databases and the tables outside the sandbox are unreadable, by any name', async () => {
  for (const query of [
    'SELECT 1 AS person_id, name AS value FROM system.tables',
    'SELECT 1 AS person_id, name AS value FROM `system`.`tables`',
    'SELECT person_id, value FROM default.person_identities',
    'SELECT person_id, value FROM person_identities',
    'SELECT person_id, value FROM INFORMATION_SCHEMA.TABLES',
    'SELECT person_id, 1 AS value FROM orders WHERE person_id IN person_identities',
    'SELECT person_id, 1 AS value FROM orders WHERE person_id IN default.person_identities',
    'SELECT person_id, value FROM (SELECT * FROM orders) AS o, person_identities AS p',
    'WITH x AS (SELECT 1) SELECT person_id, value FROM person_identities',
    'SELECT person_id, any(value) AS value FROM orders ARRAY JOIN [1] AS value GROUP BY person_id UNION ALL SELECT person_id, value FROM person_identities',
  ]) {
    const result = await attempt(query);
    assert.ok(result.refused || result.run?.status === 'failed', query);
    assert.match(result.refused ?? result.run?.error ?? '', /not readable|without a database|names a table|other databases|cannot read/, query);
  }
  // The workspace's own tables are readable, and hold only its own people.
  const own = await attempt('SELECT person_id, toString(sum(amount)) AS value FROM orders GROUP BY person_id');
  assert.equal(own.run?.status, 'completed');
  assert.equal(own.run?.people, 2);
  const everything = await attempt('SELECT person_id, toString(sum(amount)) AS value FROM orders WHERE 1 OR workspace_id != {tz:String} GROUP BY person_id');
  assert.ok(everything.refused, 'workspace_id is not a column of the sandbox tables');
  assert.equal(await victimDataInAttackerValues(), 0);
});

test('functions outside the allow-list are refused, including ones a deny-list forgets (settings, host, sleep, throw)', async () => {
  for (const [query, named] of [
    ["SELECT person_id, dictGet('d', 'x', 1) AS value FROM orders", 'dictGet'],
    ["SELECT person_id, joinGet('j', 'x', 1) AS value FROM orders", 'joinGet'],
    ["SELECT person_id, getSetting('max_threads') AS value FROM orders", 'getSetting'],
    ["SELECT person_id, getSettingOrDefault('max_threads', 0) AS value FROM orders", 'getSettingOrDefault'],
    ['SELECT person_id, hostName() AS value FROM orders', 'hostName'],
    ['SELECT person_id, currentUser() AS value FROM orders', 'currentUser'],
    ['SELECT person_id, filesystemAvailable() AS value FROM orders', 'filesystemAvailable'],
    ['SELECT person_id, sleepEachRow(3) AS value FROM orders', 'sleepEachRow'],
    ['SELECT person_id, throwIf(1) AS value FROM orders', 'throwIf'],
    ["SELECT person_id, arrayReduce('aggThrow', [1]) AS value FROM orders", 'arrayReduce'],
    ["SELECT person_id, hasColumnInTable('default', 'person_identities', 'value') AS value FROM orders", 'hasColumnInTable'],
  ] as const) {
    const result = await attempt(query);
    assert.match(result.refused ?? '', new RegExp(`function ${named}\\(\\) is not allowed`), query);
  }
  for (const [query, named] of [
    ["SELECT 1 AS person_id, 'x' AS value FROM url('http://169.254.169.254/latest/meta-data', 'LineAsString')", 'url'],
    ["SELECT 1 AS person_id, 'x' AS value FROM remote('127.0.0.1', 'default', 'person_identities')", 'remote'],
    ["SELECT 1 AS person_id, 'x' AS value FROM input('x String')", 'input'],
    ['SELECT number AS person_id, 1 AS value FROM numbers(1000000000000)', 'numbers'],
  ] as const) {
    const result = await attempt(query);
    assert.match(result.refused ?? '', new RegExp(`table function ${named}\\(\\) is not allowed`), query);
  }
});

test('SETTINGS, FORMAT, INTO OUTFILE and any parameter but {base:Date} and {tz:String} are refused', async () => {
  const refusals: Array<[string, RegExp]> = [
    ['SELECT person_id, 1 AS value FROM orders SETTINGS max_memory_usage = 0', /SETTINGS/],
    ['SELECT person_id, 1 AS value FROM (SELECT * FROM orders SETTINGS readonly = 0)', /SETTINGS/],
    ['SELECT person_id, 1 AS value FROM orders FORMAT CSV', /FORMAT/],
    ["SELECT person_id, 1 AS value FROM orders INTO OUTFILE 'x.csv'", /OUTFILE/],
    ['SELECT person_id, {ws:String} AS value FROM orders', /parameter \{ws\}/],
    ['SELECT person_id, 1 AS value FROM orders WHERE {sql_tag_runs:Array(String)} = []', /parameter \{sql_tag_runs\}/],
    ['SELECT person_id, 1 AS value FROM orders # \n WHERE 1 = {ws:String}', /parameter \{ws\}/],
    ['SELECT person_id, 1 AS value FROM {tz:Identifier}', /write \{tz:String\}/],
    ['EXPLAIN SELECT 1', /a SELECT only/],
    ['INSERT INTO tag_values (person_id) SELECT person_id FROM orders', /a SELECT only/],
  ];
  for (const [query, error] of refusals) {
    const result = await attempt(query);
    assert.match(result.refused ?? '', error, query);
  }
  const dated = await attempt("SELECT person_id, toString(max(day) <= {base:Date}) AS value FROM purchases WHERE {tz:String} != '' GROUP BY person_id");
  assert.equal(dated.run?.status, 'completed');
});

test('unicode and whitespace tricks: full-width ;, zero-width and odd spaces, CR line ends', async () => {
  const before = await victimState();
  for (const query of [
    "SELECT person_id, 'x' AS value FROM orders； CREATE TABLE pwned_unicode_1 (x UInt8) ENGINE = Memory",
    "SELECT person_id, 'x' AS value FROM orders\u2028; CREATE TABLE pwned_unicode_2 (x UInt8) ENGINE = Memory",
    "SELECT person_id, 'x' AS value FROM orders #\r'; CREATE TABLE pwned_unicode_3 (x UInt8) ENGINE = Memory #'\n;SELECT 1",
    "SELECT person_id, 'x' AS value FROM person\u200b_identities",
    "SELECT person_id, 'x' AS value FROM orders\u00a0# '\n;CREATE TABLE pwned_unicode_4 (x UInt8) ENGINE = Memory",
  ]) {
    const result = await attempt(query);
    assert.ok(result.refused || result.run?.status === 'failed', query);
  }
  assert.deepEqual(await tablesNamed('pwned_unicode_'), []);
  assert.equal(await victimState(), before);
});

test('a memory or time bomb fails its own run with a clear error, and the server keeps working', async () => {
  const saved = { memory: process.env.SIYU_SQL_TAG_MAX_MEMORY_BYTES, seconds: process.env.SIYU_SQL_TAG_MAX_SECONDS };
  process.env.SIYU_SQL_TAG_MAX_MEMORY_BYTES = String(100 * 1024 * 1024);
  process.env.SIYU_SQL_TAG_MAX_SECONDS = '5';
  try {
    // Over the rows: fails when it runs.
    const bomb = await attempt('SELECT person_id, toString(arraySum(arrayMap(x -> x * 2, range(toUInt64(amount) * 500000)))) AS value FROM orders');
    assert.equal(bomb.run?.status, 'failed');
    assert.match(bomb.run?.error ?? '', /more than 100 MiB of memory/);
    // A scalar subquery is computed while ClickHouse resolves the query (on save), a constant when it runs: limited either way.
    for (const query of [
      'SELECT person_id, toString(arraySum(arrayMap(x -> x * 2, range(50000000)))) AS value FROM orders',
      'SELECT person_id, (SELECT toString(arraySum(arrayMap(x -> x * 2, range(50000000))))) AS value FROM orders',
    ]) {
      const constant = await attempt(query);
      assert.match(constant.refused ?? constant.run?.error ?? '', /more than 100 MiB of memory/, query);
    }
  } finally {
    for (const [name, value] of [
      ['SIYU_SQL_TAG_MAX_MEMORY_BYTES', saved.memory],
      ['SIYU_SQL_TAG_MAX_SECONDS', saved.seconds],
    ] as const) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
  const health = await call('GET', '/api/v1/tags', victimOperator);
  assert.equal(health.status, 200, 'the server answers after the bomb');
  const after = await attempt('SELECT person_id, toString(sum(amount)) AS value FROM orders GROUP BY person_id');
  assert.equal(after.run?.status, 'completed');
});

test('a name or alias that forges the parse tree (`t) x`, quotes, spaces, brackets) cannot read another workspace', async () => {
  const leak = (from: string) =>
    `SELECT p.person_id AS person_id, s.v AS value FROM (SELECT person_id FROM orders LIMIT 1) AS p CROSS JOIN (SELECT toString(groupUniqArray((workspace_id, name, identifiers))) AS v FROM ${from}) AS s`;
  const queries = [
    // The red team's: the alias `t) x` made the tree read "TableIdentifier source_records x)".
    leak('source_records AS `t) x`'),
    leak('source_records AS `t (alias y)`'),
    leak('source_records AS "t) x"'),
    leak('person_identities AS `a) (children 1`'),
    leak('(SELECT * FROM source_records AS `u) v`) AS `w) z`'),
    'SELECT person_id, toString(count()) AS `v) x` FROM orders GROUP BY person_id',
    'SELECT person_id, `a(b` AS value FROM (SELECT person_id, 1 AS `a(b` FROM orders)',
    'SELECT person_id, `a b` AS value FROM (SELECT person_id, 1 AS `a b` FROM orders)',
    'SELECT person_id, `a.b` AS value FROM (SELECT person_id, 1 AS `a.b` FROM orders)',
  ];
  const members = ['B1', 'B2', '13800138001', '13800138002'];
  for (const query of queries) {
    const result = await attempt(query);
    assert.ok(result.refused, `refused: ${query} (${JSON.stringify(result.run)})`);
    assert.match(result.refused ?? '', /name/, query);
    const values = await stores.facts.query<{ v: string }>(
      'SELECT toString(tuple(v_string, v_number, v_list)) AS v FROM tag_values WHERE workspace_id = {ws:String} AND tag = {tag:String}',
      { ws: a.id, tag: result.key },
    );
    for (const v of values) for (const m of members) assert.ok(!v.v.includes(m), `B's ${m} in A's values: ${query}`);
  }
  // Plain names and CJK aliases still work.
  const plain = await attempt('SELECT o.person_id AS person_id, toString(`金额`) AS value FROM (SELECT person_id, sum(amount) AS `金额` FROM orders GROUP BY person_id) AS o');
  assert.equal(plain.run?.status, 'completed', JSON.stringify(plain));
  assert.equal(plain.run?.people, 2);
  assert.equal(await victimDataInAttackerValues(), 0);
});
