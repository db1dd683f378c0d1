/**
 * CSV injection (OWASP): a value a customer or a source system typed must never run as a formula when an
 * operator opens an export in Excel or WPS. Every CSV export is replayed with hostile identifiers and
 * record ids; plain numbers and phones stay as they are, and a carriage return inside a value is quoted.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import type { FastifyInstance } from 'fastify';
import { openTestStores, runCli, startTestServer, tempDir, uniqueSlug, workspaceWithKeys } from '../helpers.ts';
import type { Stores } from '../../src/stores/stores.ts';
import type { Workspace } from '../../src/access/workspaces.ts';
import { runImport } from '../../src/ingest/importer.ts';
import { resolveIdentities } from '../../src/identity/resolve.ts';

/** What goes in → what the export must hold. */
const CASES: Array<[string, string]> = [
  ['=HYPERLINK("http://x","y")', `'=HYPERLINK("http://x","y")`],
  ['@SUM(1)', `'@SUM(1)`],
  ['-2+3', `'-2+3`],
  ['-12.5', '-12.5'],
  ['+86 138 0013 8000', '+86 138 0013 8000'],
];
/** The importer reads `|` as a delimiter and drops `\r` from ids, so each field gets the one it keeps. */
const DDE: [string, string] = ["+cmd|' /C calc'!A0", `'+cmd|' /C calc'!A0`];
const CARRIAGE_RETURN: [string, string] = ['Wang\rJing', 'Wang\rJing'];
const RECORD_IDS = [...CASES, DDE];
const MEMBER_NOS = [...CASES, CARRIAGE_RETURN];

/** A records file whose record ids and member numbers are the hostile values. */
function hostileRecords(dir: string): string {
  const file = path.join(dir, 'hostile.csv');
  fs.writeFileSync(file, stringify([['record_id', 'source', 'member_no'], ...RECORD_IDS.map(([id], i) => [id, 'crm', MEMBER_NOS[i][0]])]));
  return file;
}

/** Every cell a spreadsheet would evaluate: starts with = @ tab CR, or +/- and is not a plain number or phone. */
function formulaCells(csv: string): string[] {
  const cells = (parse(csv, { relax_column_count: true }) as string[][]).flat();
  return cells.filter((c) => /^[=@\t\r]/.test(c) || (/^[+-]/.test(c) && !/^(?:[+-]?\d+(?:\.\d+)?|\+\d[\d ]*\d)$/.test(c)));
}

function assertSafe(csv: string, column: number, where: string, cases = MEMBER_NOS) {
  assert.deepEqual(formulaCells(csv), [], `${where}: no cell is a formula\n${csv}`);
  const rows = parse(csv) as string[][];
  const values = rows
    .slice(1)
    .map((r) => r[column])
    .sort();
  assert.deepEqual(values, cases.map(([, expected]) => expected).sort(), `${where}: each value neutralised or kept`);
  // The carriage return is inside quotes, not a row break.
  if (cases.includes(CARRIAGE_RETURN)) assert.match(csv, /"Wang\rJing"/, `${where}: a value with \\r is quoted`);
}

let stores: Stores;
let app: FastifyInstance;
let base: string;
let ws: Workspace;
let operator: string;

before(async () => {
  ({ stores } = await openTestStores());
  ({ ws, operator } = await workspaceWithKeys(stores, 'csv-injection'));
  ({ app, base } = await startTestServer(stores, { resolveAfterMs: 0 }));
  await runImport(stores, { workspace: ws, kind: 'records', files: [hostileRecords(tempDir())], resolve: false });
  await resolveIdentities(stores, { workspaceId: ws.id });
});
after(async () => {
  await app.close();
  await stores.close();
});

const download = async (route: string) => {
  const response = await fetch(`${base}${route}`, { headers: { authorization: `Bearer ${operator}` } });
  assert.equal(response.status, 200, route);
  assert.match(response.headers.get('content-type') ?? '', /^text\/csv/);
  return response.text();
};

test('GET /api/v1/identities/export neutralises formula cells and quotes \\r', async () => {
  const csv = await download('/api/v1/identities/export');
  const rows = (parse(csv) as string[][]).filter((r) => r[1] === 'member_no');
  assert.equal(rows.length, MEMBER_NOS.length);
  assertSafe(stringify([['person_id', 'type', 'value'], ...rows]), 2, 'identities');
  assert.deepEqual(formulaCells(csv), []);
});

test('GET /api/v1/records/export neutralises formula cells and quotes \\r', async () => {
  const csv = await download('/api/v1/records/export');
  assertSafe(csv, 1, 'records', RECORD_IDS);
});

test('GET /api/v1/segments/:key/export neutralises formula cells and quotes \\r', async () => {
  const created = await fetch(`${base}/api/v1/segments`, {
    method: 'POST',
    headers: { authorization: `Bearer ${operator}`, 'content-type': 'application/json' },
    body: JSON.stringify({ key: 'members', name: { zh: '会员', en: 'Members' }, conditions: [{ type: 'identifier', identifierType: 'member_no' }] }),
  });
  assert.equal(created.status, 201, await created.text());
  const csv = await download('/api/v1/segments/members/export?type=member_no');
  assertSafe(csv, 1, 'segment');
});

test('siyu identities export, records export and segments export neutralise formula cells', async () => {
  const env = { SIYU_DATA_DIR: tempDir(), SIYU_DEMO_PEOPLE: '0' };
  const slug = uniqueSlug('csv-cli');
  const dir = tempDir();
  const cli = async (args: string[]) => {
    const result = await runCli([...args, '-w', slug], env);
    assert.equal(result.code, 0, `${args.join(' ')}: ${result.stderr}`);
    return result.stdout;
  };
  assert.equal((await runCli(['workspace', 'create', '--slug', slug, '--name', 'csv'], env)).code, 0);
  await cli(['import', 'records', hostileRecords(dir)]);
  fs.writeFileSync(
    path.join(dir, 'segment.json'),
    JSON.stringify({ key: 'members', name: { zh: '会员', en: 'Members' }, conditions: [{ type: 'identifier', identifierType: 'member_no' }] }),
  );
  await cli(['segments', 'create', path.join(dir, 'segment.json')]);

  await cli(['identities', 'export', '--out', path.join(dir, 'identities.csv')]);
  const identities = (parse(fs.readFileSync(path.join(dir, 'identities.csv'), 'utf8')) as string[][]).filter((r) => r[1] === 'member_no');
  assertSafe(stringify([['person_id', 'type', 'value'], ...identities]), 2, 'siyu identities export');
  await cli(['records', 'export', '--out', path.join(dir, 'records.csv')]);
  assertSafe(fs.readFileSync(path.join(dir, 'records.csv'), 'utf8'), 1, 'siyu records export', RECORD_IDS);
  await cli(['segments', 'export', 'members', '--type', 'member_no', '--out', path.join(dir, 'members.csv')]);
  assertSafe(fs.readFileSync(path.join(dir, 'members.csv'), 'utf8'), 1, 'siyu segments export --out');
  assertSafe(await cli(['segments', 'export', 'members', '--type', 'member_no']), 1, 'siyu segments export to standard output');
});
