/**
 * SQL tags: an operator's own ClickHouse query returning `person_id, value`. It is sandboxed: a
 * single SELECT (checked on ClickHouse's own parse tree), reading only the tables below, each of
 * which is replaced by this workspace's rows; no table functions, no other databases, no settings,
 * no dictionary or file functions, and no parameters but the run's base date and time zone.
 */
import type { FactsStore } from '../stores/facts/facts-store.ts';
import { PURCHASES } from './compute.ts';
import type { SqlTag } from './definition.ts';

/** What a SQL tag can read, each limited to the workspace (and current rows: FINAL). */
export const SQL_TABLES: Record<string, (db: string) => string> = {
  orders: (db) => `SELECT * EXCEPT (workspace_id, version, is_deleted, import_run_id) FROM ${db}.orders FINAL WHERE workspace_id = {ws:String} AND person_id > 0`,
  order_lines: (db) => `SELECT * EXCEPT (workspace_id, version, is_deleted) FROM ${db}.order_lines FINAL WHERE workspace_id = {ws:String} AND person_id > 0`,
  shipments: (db) => `SELECT * EXCEPT (workspace_id, version, is_deleted) FROM ${db}.shipments FINAL WHERE workspace_id = {ws:String} AND person_id > 0`,
  refunds: (db) => `SELECT * EXCEPT (workspace_id, version, is_deleted, import_run_id) FROM ${db}.refunds FINAL WHERE workspace_id = {ws:String} AND person_id > 0`,
  events: (db) => `SELECT * EXCEPT (workspace_id, version, is_deleted) FROM ${db}.events FINAL WHERE workspace_id = {ws:String} AND person_id > 0`,
  products: (db) => `SELECT * EXCEPT (workspace_id, version, is_deleted, person_id) FROM ${db}.products FINAL WHERE workspace_id = {ws:String}`,
  contacts: (db) => `SELECT * EXCEPT (workspace_id, version, is_deleted, import_run_id) FROM ${db}.contacts FINAL WHERE workspace_id = {ws:String} AND person_id > 0`,
  // Purchases as the other kinds count them (day in the workspace zone, amount net of refunds).
  purchases: (db) => PURCHASES.replaceAll('FROM orders FINAL', `FROM ${db}.orders FINAL`),
  // The current value of every tag (the runs are bound by the engine).
  tag_values: (db) =>
    `SELECT person_id, tag, v_string, v_number, v_bool, v_date, v_list FROM ${db}.tag_values WHERE workspace_id = {ws:String} AND run_id IN {sql_tag_runs:Array(String)}`,
};

/** Functions that reach outside the query's tables (files, dictionaries, other tables, the server's settings). */
const FORBIDDEN_FUNCTION = /^(file|url|dict\w*|joinGet\w*|hasColumnInTable|getSetting|getServerSetting|getMacro|input|s3|hdfs|remote\w*|cluster\w*|mysql|postgresql|executable|loop|merge|numbers_mt)$/i;

export class SqlTagError extends Error {}

/** Strips strings, quoted names and comments, so a `;` that remains ends a statement. */
function outsideLiterals(query: string): string {
  return query.replace(/'(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.)*"|`(?:[^`\\]|\\.)*`|--[^\n]*|\/\*[\s\S]*?\*\//g, ' ');
}

/** The AST lines ClickHouse gives for the query, or a SqlTagError saying what is wrong. */
async function parseTree(facts: FactsStore, query: string, params: Record<string, unknown>): Promise<string[]> {
  try {
    const rows = await facts.query<{ explain: string }>(`EXPLAIN AST ${query}`, params);
    return rows.map((r) => r.explain);
  } catch (error) {
    const message = (error as Error).message.replace(/^.*?DB::Exception: /s, '').split('\n')[0];
    throw new SqlTagError(`the query does not parse: ${message}`);
  }
}

/**
 * Checks an operator's query and returns the sandboxed SELECT (person_id, value) to insert from.
 * `params` binds base and tz, and sql_tag_runs: the current runs of the workspace's tags (for tag_values).
 */
export async function sandboxedQuery(facts: FactsStore, tag: SqlTag, params: Record<string, unknown>): Promise<string> {
  const query = tag.query.trim().replace(/;\s*$/, '');
  if (outsideLiterals(query).includes(';')) throw new SqlTagError('one SELECT only: the query has more than one statement');
  for (const [, name] of outsideLiterals(query).matchAll(/\{\s*(\w+)\s*:/g)) {
    if (name !== 'base' && name !== 'tz') throw new SqlTagError(`parameter {${name}}: only {base:Date} and {tz:String} are bound`);
  }
  const [{ db }] = await facts.query<{ db: string }>('SELECT currentDatabase() AS db');
  const tables = new Set((await facts.query<{ name: string }>('SELECT name FROM system.tables WHERE database = currentDatabase()')).map((t) => t.name));
  const databases = new Set((await facts.query<{ name: string }>('SELECT name FROM system.databases')).map((d) => d.name));
  const lines = await parseTree(facts, query, { base: params.base, tz: params.tz });
  if (!lines[0]?.trim().startsWith('SelectWithUnionQuery')) throw new SqlTagError(`a SELECT only: this is a ${lines[0]?.trim().split(' ')[0] ?? 'empty query'}`);
  lines.forEach((line, i) => {
    const [node, name = ''] = line.trim().split(/\s+/);
    const previous = lines[i - 1]?.trim() ?? '';
    if (node === 'Set') throw new SqlTagError('SETTINGS are not allowed in a SQL tag');
    if (node === 'Function' && previous.startsWith('TableExpression')) throw new SqlTagError(`table function ${name}() is not allowed: read ${Object.keys(SQL_TABLES).join(', ')}`);
    if (node === 'Function' && FORBIDDEN_FUNCTION.test(name)) throw new SqlTagError(`function ${name}() is not allowed in a SQL tag`);
    if (node === 'TableIdentifier') {
      if (name.includes('.')) throw new SqlTagError(`table ${name}: name tables without a database; a SQL tag reads ${Object.keys(SQL_TABLES).join(', ')}`);
      if (tables.has(name) && !(name in SQL_TABLES)) throw new SqlTagError(`table ${name} is not readable from a SQL tag; it reads ${Object.keys(SQL_TABLES).join(', ')}`);
    }
    if (node === 'Identifier') {
      if (tables.has(name) || name in SQL_TABLES) throw new SqlTagError(`${name} names a table: use (SELECT … FROM ${name}) instead`);
      const qualifier = name.split('.')[0];
      if (name.includes('.') && databases.has(qualifier)) throw new SqlTagError(`${name}: other databases are not readable from a SQL tag`);
    }
  });
  // Every table the query may read is a CTE over this workspace's rows, shadowing the real one.
  const ctes = Object.entries(SQL_TABLES).map(([name, body]) => `${name} AS (${body(db)})`);
  const type = tag.valueType;
  const value = type === 'string_list' ? 'CAST(value AS Array(String))' : type === 'date' ? 'toDate32(value)' : type === 'boolean' ? 'toUInt8(value)' : type === 'number' ? 'toFloat64(value)' : 'toString(value)';
  return `WITH ${ctes.join(',\n')}
    SELECT toUInt64(person_id) AS person_id, ${value} AS value FROM (
${query}
    ) WHERE person_id > 0 AND person_id IN (SELECT person_id FROM ${db}.source_records FINAL WHERE workspace_id = {ws:String})
    LIMIT 1 BY person_id`;
}
