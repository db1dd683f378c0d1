/**
 * The SQL fragment type, checked by ClickHouse itself (chDB): built queries run, values stay values
 * however hostile their text, and fragments compose without their parameters clashing.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ChdbFactsStore } from '../stores/facts/chdb-facts-store.ts';
import { Binder, inferType, sql } from './sql.ts';

let facts: ChdbFactsStore;
let dir: string;

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'siyu-sql-'));
  facts = new ChdbFactsStore(dir);
});
after(async () => {
  await facts.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function run<Row>(fragment: ReturnType<typeof sql>): Promise<Row[]> {
  const { query, params } = fragment.toQuery();
  return facts.query<Row>(query, params);
}

test('values become typed parameters named when the query is built, in order of first use', () => {
  const { query, params } = sql`SELECT ${'a'} AS s, ${2} AS i, ${2.5} AS f, ${true} AS b, ${['x', 'y']} AS l`.toQuery();
  assert.equal(query, 'SELECT {p_0:String} AS s, {p_1:Int64} AS i, {p_2:Float64} AS f, {p_3:Bool} AS b, {p_4:Array(String)} AS l');
  assert.deepEqual(params, { p_0: 'a', p_1: 2, p_2: 2.5, p_3: true, p_4: ['x', 'y'] });
  assert.equal(inferType([1, 2.5]), 'Array(Float64)');
  assert.throws(() => sql`${null as unknown as string}`, /null value needs sql\.param/);
  assert.throws(() => sql`${['a', 1] as unknown as string[]}`, /mixed types/);
  assert.throws(() => sql`${Number.NaN}`, /not a finite number/);
});

test('a value with quotes, backslashes, comments and placeholders stays one value', async () => {
  const hostile = [`'); DROP TABLE x; --`, `\\' OR 1=1 /*`, `{p_0:String}`, `a\nb\t"c"`, '燕窝 \u0000 end'];
  for (const value of hostile) {
    const [row] = await run<{ v: string; n: string }>(sql`SELECT ${value} AS v, length(${value}) AS n`);
    assert.equal(row.v, value);
    assert.equal(Number(row.n), Buffer.byteLength(value));
  }
  const [row] = await run<{ n: string }>(sql`SELECT count() AS n FROM numbers(10) WHERE toString(number) IN ${sql.param(hostile, 'Array(String)')}`);
  assert.equal(Number(row.n), 0);
});

test('fragments compose: each keeps its own values, however many use the same text', async () => {
  const over = (min: number) => sql`number >= ${sql.param(min, 'UInt64')}`;
  const under = (max: number) => sql`number < ${sql.param(max, 'UInt64')}`;
  const both = sql`${over(3)} AND ${under(7)}`;
  const inner = sql`SELECT number FROM numbers(100) WHERE ${both}`;
  // The same fragment twice: its one value gets one name.
  const twice = sql`SELECT count() AS n FROM (${inner}) WHERE number IN (${inner}) AND ${over(5)}`;
  const { query, params } = twice.toQuery();
  assert.deepEqual(params, { p_0: 3, p_1: 7, p_2: 5 });
  assert.match(query, /number >= \{p_0:UInt64\} AND number < \{p_1:UInt64\}\) WHERE number IN \(SELECT number FROM numbers\(100\) WHERE number >= \{p_0:UInt64\}/);
  const [row] = await run<{ n: string }>(twice);
  assert.equal(Number(row.n), 2, 'numbers 5 and 6');
});

test("joins, and text of ours with named placeholders bound as the fragment's own parameters", async () => {
  const view = sql.raw('(SELECT number AS n FROM numbers({count:UInt64}) WHERE n % {step:UInt64} = 0 OR n = {count:UInt64} - 1)', { count: 10, step: 3 });
  // Another fragment with the same names and other values: no clash, no renaming by hand.
  const other = sql.raw('(SELECT number AS n FROM numbers({count:UInt64}))', { count: 2 });
  const fragment = sql`SELECT groupArray(n) AS ns FROM (SELECT n FROM ${view} WHERE n NOT IN ${other} ORDER BY n)`;
  const { params } = fragment.toQuery();
  assert.deepEqual(Object.values(params), [10, 3, 2], 'one parameter per name and fragment');
  const [row] = await run<{ ns: string[] }>(fragment);
  assert.deepEqual(row.ns.map(Number), [3, 6, 9]);
  assert.throws(() => sql.raw('x = {missing:String}'), /\{missing:String\} has no value/);
  // A query around shared names, with fragments and values interpolated.
  const around = sql.with({ limit: 2, count: 99 })`SELECT n FROM ${view} WHERE n > ${1} AND n < {count:UInt64} ORDER BY n LIMIT {limit:UInt32}`;
  assert.deepEqual(
    (await run<{ n: string }>(around)).map((r) => Number(r.n)),
    [3, 6],
  );
  assert.deepEqual(Object.values(around.toQuery().params), [10, 3, 1, 99, 2]);
  assert.throws(() => sql.with({})`x = {ws:String}`, /sql\.with: \{ws:String\} has no value/);
  const conditions = [sql`1 = ${1}`, sql`${'a'} = 'a'`];
  assert.equal(sql.join(conditions, sql` AND `).toQuery().query, "1 = {p_0:Int64} AND {p_1:String} = 'a'");
  assert.ok(sql.join([]).isEmpty && sql.empty.isEmpty && !sql`x`.isEmpty);
});

test('identifiers only as plain names, types only as types', async () => {
  assert.equal(sql`SELECT ${sql.identifier('p', 'person_id')}`.toQuery().query, 'SELECT p.person_id');
  for (const bad of ['a b', 'x; DROP', '`x`', '', '1a', 'a.b']) assert.throws(() => sql.identifier(bad), /is not a plain name/);
  assert.throws(() => sql.param(1, 'UInt8} OR {x:String'), /is not a ClickHouse type/);
  const [row] = await run<{ d: string }>(sql`SELECT toString(${sql.param('2026-06-30', 'Date')} + 1) AS d`);
  assert.equal(row.d, '2026-07-01');
});

test('the binder: text built piece by piece gets one name per value, and becomes a fragment that composes', async () => {
  const binder = new Binder('p', { limit: 3 });
  const text = `SELECT number FROM numbers(10) WHERE toString(number) != ${binder.bind("1' OR '1'='1", 'String')} AND number > ${binder.bind(4, 'UInt64')} LIMIT {limit:UInt32}`;
  assert.equal(text, 'SELECT number FROM numbers(10) WHERE toString(number) != {p0:String} AND number > {p1:UInt64} LIMIT {limit:UInt32}');
  assert.deepEqual(binder.params, { limit: 3, p0: "1' OR '1'='1", p1: 4 });
  // Two pieces built by two binders of the same prefix: as fragments, their p0s do not clash.
  const other = new Binder('p');
  const second = other.fragment(`SELECT number FROM numbers(10) WHERE number < ${other.bind(2, 'UInt64')}`);
  const rows = await run<{ number: string }>(sql`SELECT number FROM (${binder.fragment(text)}) WHERE number NOT IN (${second}) ORDER BY number`);
  assert.deepEqual(
    rows.map((r) => Number(r.number)),
    [5, 6, 7],
  );
  assert.throws(() => new Binder('p', { p0: 1 }).bind(2, 'UInt8'), /p0 is already bound/);
  assert.throws(() => new Binder('x y'), /is not a plain name/);
});
