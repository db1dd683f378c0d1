/**
 * SQL tags: an operator's own ClickHouse query returning `person_id, value`. It is sandboxed:
 *
 * 1. ClickHouse parses the operator's text once, as a bound parameter (`formatQuerySingleLine`), which
 *    refuses more than one statement and drops comments. Only that canonical text is used afterwards;
 *    the raw text never reaches ClickHouse any other way.
 * 2. The canonical text's parse tree (`EXPLAIN AST`) must be one SELECT built from the syntax below,
 *    calling only allow-listed functions (sql-functions.ts), reading only the tables in SQL_TABLES (each
 *    replaced by this workspace's rows), with no settings, FORMAT, INTO OUTFILE or table functions, and
 *    no parameters but {base:Date} and {tz:String}.
 *    Every name and alias is a plain word (letters, digits, _ or CJK letters), and the tree's text must
 *    parse back exactly (names are printed unquoted there: a `)` or a space in one could forge structure).
 * 3. The operator's part alone (the query inside the sandbox's table CTEs, without the person filter the
 *    sandbox adds) is resolved by ClickHouse (`EXPLAIN QUERY TREE`), and every table it reads must be read
 *    inside one of the sandbox's own CTE bodies (named with a random word per check, which the operator's
 *    text cannot name), so a name can reach no other table, nor these without the workspace filter.
 * 4. It runs read-only, with limits on memory, time and rows read (and, on a ClickHouse server, as the
 *    SQL-tag user when one is configured: see the README).
 */
import crypto from 'node:crypto';
import { sandboxSettingsSql, type FactsStore, type SandboxLimits } from '../stores/facts/facts-store.ts';
import { purchasesFrom } from '../facts/views.ts';
import type { SqlTag } from './definition.ts';
import { isAllowedFunction } from './sql-functions.ts';
import { ZodError } from 'zod';
import { InputError, ConfigError } from '../kernel/errors.ts';

/** What a SQL tag can read, each limited to the workspace (and current rows: FINAL). */
const SQL_TABLES: Record<string, (db: string) => string> = {
  orders: (db) => `SELECT * EXCEPT (workspace_id, version, is_deleted, import_run_id) FROM ${db}.orders FINAL WHERE workspace_id = {ws:String} AND person_id > 0`,
  order_lines: (db) => `SELECT * EXCEPT (workspace_id, version, is_deleted) FROM ${db}.order_lines FINAL WHERE workspace_id = {ws:String} AND person_id > 0`,
  shipments: (db) => `SELECT * EXCEPT (workspace_id, version, is_deleted) FROM ${db}.shipments FINAL WHERE workspace_id = {ws:String} AND person_id > 0`,
  refunds: (db) => `SELECT * EXCEPT (workspace_id, version, is_deleted, import_run_id) FROM ${db}.refunds FINAL WHERE workspace_id = {ws:String} AND person_id > 0`,
  events: (db) => `SELECT * EXCEPT (workspace_id, version, is_deleted) FROM ${db}.events FINAL WHERE workspace_id = {ws:String} AND person_id > 0`,
  products: (db) => `SELECT * EXCEPT (workspace_id, version, is_deleted, person_id) FROM ${db}.products FINAL WHERE workspace_id = {ws:String}`,
  contacts: (db) => `SELECT * EXCEPT (workspace_id, version, is_deleted, import_run_id) FROM ${db}.contacts FINAL WHERE workspace_id = {ws:String} AND person_id > 0`,
  // Purchases as the other kinds count them (day in the workspace zone, amount net of refunds).
  purchases: (db) => purchasesFrom(`${db}.orders`),
  // The current value of every tag (the runs are bound by the engine).
  tag_values: (db) =>
    `SELECT person_id, tag, v_string, v_number, v_bool, v_date, v_list FROM ${db}.tag_values WHERE workspace_id = {ws:String} AND run_id IN {sql_tag_runs:Array(String)}`,
};

/** The facts table each of SQL_TABLES reads (and nothing else). */
const SQL_TABLE_SOURCES: Record<string, string> = {
  orders: 'orders',
  order_lines: 'order_lines',
  shipments: 'shipments',
  refunds: 'refunds',
  events: 'events',
  products: 'products',
  contacts: 'contacts',
  purchases: 'orders',
  tag_values: 'tag_values',
};

/** A name or alias a SQL tag may use: one word of ASCII letters, digits and _, or CJK letters (no dots, spaces, brackets, quotes). */
const SAFE_NAME = /^[A-Za-z_\p{Script=Han}][A-Za-z0-9_\p{Script=Han}]*$/u;

/** The parameters a SQL tag may use, with their types. */
const PARAMETERS = new Map([
  ['base', 'Date'],
  ['tz', 'String'],
]);

/** The parse-tree nodes a SELECT may be built from; anything else (SETTINGS, SAMPLE, APPLY …) is refused. */
const NODES = new Set([
  'SelectWithUnionQuery',
  'SelectIntersectExceptQuery',
  'SelectQuery',
  'ExpressionList',
  'TablesInSelectQuery',
  'TablesInSelectQueryElement',
  'TableExpression',
  'TableIdentifier',
  'TableJoin',
  'ArrayJoin',
  'Subquery',
  'WithElement',
  'Function',
  'Identifier',
  'Literal',
  'Asterisk',
  'QualifiedAsterisk',
  'ColumnsRegexpMatcher',
  'ColumnsListMatcher',
  'QualifiedColumnsRegexpMatcher',
  'QualifiedColumnsListMatcher',
  'ColumnsTransformerList',
  'ColumnsExceptTransformer',
  'ColumnsReplaceTransformer',
  'ColumnsReplaceTransformer::Replacement',
  'OrderByElement',
  'WindowDefinition',
  'WindowListElement',
  'InterpolateElement',
]);

/** What a node means to an operator, for the errors. */
const NODE_NAMES = new Map([
  ['Set', 'a SETTINGS clause'],
  ['SampleRatio', 'SAMPLE'],
  ['ColumnsApplyTransformer', 'APPLY'],
]);

/** Limits for one run of a SQL tag; SIYU_SQL_TAG_* in the environment change them (see the README). */
export function sqlTagLimits(env: NodeJS.ProcessEnv = process.env): SandboxLimits {
  const read = (name: string, fallback: number) => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!Number.isSafeInteger(value) || value <= 0) throw new ConfigError(`${name} must be a positive integer, got "${raw}"`);
    return value;
  };
  return {
    // 1 GiB: the server runs everything in one process, on as little as 2 cores and 24 GiB.
    maxMemoryBytes: read('SIYU_SQL_TAG_MAX_MEMORY_BYTES', 1024 ** 3),
    maxSeconds: read('SIYU_SQL_TAG_MAX_SECONDS', 600),
    maxRowsToRead: read('SIYU_SQL_TAG_MAX_ROWS_TO_READ', 2_000_000_000),
    maxResultRows: read('SIYU_SQL_TAG_MAX_RESULT_ROWS', 100_000_000),
  };
}

/** Saving a SQL tag resolves its query once: at most this long and this much memory. */
const SAVE_CHECK_SECONDS = 30;
const SAVE_CHECK_MEMORY_BYTES = 1024 ** 3;

/** An operator's query refused, or a run failed: the message is ours and says what to change. */
export class SqlTagError extends InputError {
  override name = 'SqlTagError';
}

interface AstNode {
  kind: string;
  /** The node's name: a function's or identifier's name, a literal's value. */
  name: string;
  children: AstNode[];
}

/** One line of EXPLAIN AST: indent, kind, name, then ` (alias a)` and ` (children n)` when there are. */
const AST_LINE = /^( *)([A-Za-z][A-Za-z0-9_]*(?:::[A-Za-z][A-Za-z0-9_]*)?)(?: (.+?))??(?: \(alias ([^()\s]+)\))?(?: \(children (\d+)\))?$/u;

/** What a node's name may be, by kind (kinds outside NODES are refused by checkTree whatever their name). */
function nameFits(kind: string, name: string): boolean {
  if (kind === 'Identifier' || kind === 'TableIdentifier') return name.split('.').every((part) => SAFE_NAME.test(part));
  if (kind === 'Function') return SAFE_NAME.test(name);
  // A literal prints its strings quoted and escaped: outside them, nothing may look like an alias or a child count.
  if (kind === 'Literal') return name !== '' && !/\((?:alias|children)\b/.test(name.replace(/'(?:[^'\\]|\\.)*'/g, "''"));
  return !NODES.has(kind) || name === '';
}

/** The tree's text cannot be read back exactly: fail closed. */
const unreadable = () => new SqlTagError('the query uses a name or syntax a SQL tag cannot check: names and aliases are plain words (letters, digits, _), write it more simply');

/**
 * EXPLAIN AST prints one node a line, indented one space per level: back into a tree. Every line must
 * parse exactly, every alias be a plain word, every node have the children it says: anything else is refused.
 */
export function treeOf(lines: string[]): AstNode {
  const root: AstNode = { kind: 'root', name: '', children: [] };
  const path: AstNode[] = [root];
  const declared = new Map<AstNode, number>();
  for (const line of lines) {
    const match = AST_LINE.exec(line);
    if (!match) throw unreadable();
    const [, indent, kind, name = '', alias, children] = match;
    const depth = indent.length;
    if (depth > path.length - 1) throw unreadable();
    if ((alias !== undefined && !SAFE_NAME.test(alias)) || !nameFits(kind, name)) throw unreadable();
    const node: AstNode = { kind, name, children: [] };
    declared.set(node, children === undefined ? 0 : Number(children));
    path[depth].children.push(node);
    path.length = depth + 1;
    path.push(node);
  }
  for (const [node, count] of declared) if (node.children.length !== count) throw unreadable();
  return root;
}

/** ClickHouse's error, as our own message (its text names its internals and our wrapper). */
function parseError(error: unknown, query: string): SqlTagError {
  const message = (error as Error).message;
  if (/Multi-statements are not allowed/.test(message)) return new SqlTagError('one SELECT only: the query has more than one statement');
  const unknown = /Substitution `([^`]*)` is not set/.exec(message);
  if (unknown) return new SqlTagError(`parameter {${unknown[1]}}: only {base:Date} and {tz:String} are bound`);
  if (/Max query size exceeded|Maximum parse depth exceeded|TOO_DEEP_RECURSION/i.test(message)) return new SqlTagError('the query is too large or too deeply nested');
  const position = /failed at position (\d+)/.exec(message);
  if (position) {
    const at = Number(position[1]) - 1;
    const near = [...query.slice(at, at + 40)].map((c) => (c < ' ' ? ' ' : c)).join('');
    return new SqlTagError(`the query does not parse at character ${at + 1}${near ? `, near «${near}»` : ' (it ends too soon)'}`);
  }
  return new SqlTagError('the query does not parse');
}

/** The operator's text as ClickHouse formats it, parsed once as a bound parameter; comments are gone. */
async function canonicalText(facts: FactsStore, query: string): Promise<string> {
  let formatted: string;
  try {
    [{ formatted }] = await facts.query<{ formatted: string }>('SELECT formatQuerySingleLine({query:String}) AS formatted', { query });
  } catch (error) {
    throw parseError(error, query);
  }
  // Formatting its own output must give it back: then what is checked below is what runs.
  const [{ again }] = await facts.query<{ again: string }>('SELECT formatQuerySingleLineOrNull({query:String}) AS again', { query: formatted });
  if (again !== formatted) throw new SqlTagError('the query does not parse the same way twice; write it more simply');
  return formatted;
}

const tableList = () => Object.keys(SQL_TABLES).join(', ');

/** Refuses every node of the parse tree that a SQL tag may not use, with what is allowed instead. */
function checkTree(node: AstNode, tables: Set<string>, databases: Set<string>, parent?: AstNode): void {
  if (node.kind !== 'root' && !NODES.has(node.kind)) {
    throw new SqlTagError(`${NODE_NAMES.get(node.kind) ?? node.kind} is not allowed in a SQL tag: it is one SELECT, reading ${tableList()}`);
  }
  if (node.kind === 'SelectWithUnionQuery' && node.children.length > 1) throw new SqlTagError('FORMAT and INTO OUTFILE are not allowed in a SQL tag');
  if (node.kind === 'Function') {
    if (parent?.kind === 'TableExpression') throw new SqlTagError(`table function ${node.name}() is not allowed: read ${tableList()}`);
    if (!isAllowedFunction(node.name)) {
      throw new SqlTagError(
        `function ${node.name}() is not allowed in a SQL tag (it may use arithmetic, comparison, logical, conditional, string, date, conversion, array and aggregate functions)`,
      );
    }
  }
  if (node.kind === 'TableIdentifier') {
    if (node.name.includes('.')) throw new SqlTagError(`table ${node.name}: name tables without a database; a SQL tag reads ${tableList()}`);
    if (!Object.hasOwn(SQL_TABLES, node.name) && tables.has(node.name)) throw new SqlTagError(`table ${node.name} is not readable from a SQL tag; it reads ${tableList()}`);
  }
  if (node.kind === 'Identifier') {
    if (tables.has(node.name) || Object.hasOwn(SQL_TABLES, node.name)) throw new SqlTagError(`${node.name} names a table: use (SELECT … FROM ${node.name}) instead`);
    const qualifier = node.name.split('.')[0].toLowerCase();
    if (node.name.includes('.') && databases.has(qualifier)) throw new SqlTagError(`${node.name}: other databases are not readable from a SQL tag`);
  }
  for (const child of node.children) checkTree(child, tables, databases, node);
}

/**
 * The operator's part of the sandbox: the checked query over the tables as CTEs of this workspace's rows,
 * the value cast to the tag's type. Each table reads its rows in a CTE named `<nonce>_<table>` (a random
 * word per check, which the operator's text cannot contain), so that the tables read there, and only
 * there, are known to be the sandbox's own reads.
 */
function operatorPart(db: string, canonical: string, valueType: SqlTag['valueType'], nonce: string): string {
  const sources = Object.entries(SQL_TABLES).map(([name, body]) => `${nonce}_${name} AS (${body(db)})`);
  const tables = Object.keys(SQL_TABLES).map((name) => `${name} AS (SELECT * FROM ${nonce}_${name})`);
  const value =
    valueType === 'string_list'
      ? 'CAST(value AS Array(String))'
      : valueType === 'date'
        ? 'toDate32(value)'
        : valueType === 'boolean'
          ? 'toUInt8(value)'
          : valueType === 'number'
            ? 'toFloat64(value)'
            : 'toString(value)';
  return `WITH ${[...sources, ...tables].join(',\n')}
    SELECT toUInt64(person_id) AS person_id, ${value} AS value FROM (
${canonical}
    )`;
}

/** The whole sandbox: the operator's part, kept to the workspace's people (a read of the sandbox's own, outside that part). */
function wrap(db: string, operator: string): string {
  return `SELECT person_id, value FROM (
${operator}
    ) WHERE person_id > 0 AND person_id IN (SELECT person_id FROM ${db}.source_records FINAL WHERE workspace_id = {ws:String})
    LIMIT 1 BY person_id`;
}

/**
 * Checks an operator's query (without running it) and returns its canonical text: a SqlTagError says
 * what is wrong. Used when a SQL tag is saved, and again before every run.
 */
export async function checkSqlTag(facts: FactsStore, query: string): Promise<string> {
  const text = query.trim();
  if (text.length === 0) throw new SqlTagError('the query is empty');
  const canonical = await canonicalText(facts, text);
  // Parameter types (their names are checked by ClickHouse below). The canonical text has no comments,
  // so outside its quoted strings and names a { starts a parameter.
  const outsideQuotes = canonical.replace(/'(?:[^'\\]|\\.)*'|`(?:[^`\\]|\\.)*`/g, "''");
  for (const [, name, type] of outsideQuotes.matchAll(/\{\s*([^:}\s]*)\s*:\s*([^}]*)\}/g)) {
    const expected = PARAMETERS.get(name);
    if (expected === undefined) throw new SqlTagError(`parameter {${name}}: only {base:Date} and {tz:String} are bound`);
    if (expected !== type.trim()) throw new SqlTagError(`parameter {${name}:${type.trim()}}: write {${name}:${expected}}`);
  }
  // EXPLAIN AST prints a name unescaped: a line break in a quoted name (`a\n…`) would forge lines of the
  // tree. Outside strings, the canonical text has a backslash or control character only in such a name.
  const outsideStrings = canonical.replace(/'(?:[^'\\]|\\.)*'/g, "''");
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is this check's purpose
  if (/[\\\u0000-\u001f\u007f\u2028\u2029]/.test(outsideStrings)) throw new SqlTagError('names may not contain backslashes, line breaks or control characters');
  // A quoted name is printed unquoted in the tree: only plain words may be quoted (a CJK alias is quoted to parse).
  for (const [, backquoted, doubleQuoted] of outsideStrings.matchAll(/`([^`]*)`|"([^"]*)"/g)) {
    const quoted = backquoted ?? doubleQuoted ?? '';
    if (!SAFE_NAME.test(quoted))
      throw new SqlTagError(`name \`${quoted.slice(0, 40)}\`: names and aliases are plain words (letters, digits, _ or CJK letters), without spaces, dots, brackets or quotes`);
  }
  let lines: string[];
  try {
    // Only the canonical text, which ClickHouse has just formatted from one statement, is parsed here.
    lines = (await facts.query<{ explain: string }>(`EXPLAIN AST ${canonical}`, { base: '2000-01-01', tz: 'UTC' })).map((r) => r.explain);
  } catch (error) {
    throw parseError(error, canonical);
  }
  const tree = treeOf(lines);
  const top = tree.children[0];
  if (tree.children.length !== 1 || top.kind !== 'SelectWithUnionQuery')
    throw new SqlTagError(`a SELECT only: this is ${NODE_NAMES.get(top?.kind ?? '') ?? top?.kind ?? 'an empty query'}`);
  const tables = new Set((await facts.query<{ name: string }>('SELECT name FROM system.tables WHERE database = currentDatabase()')).map((t) => t.name));
  const databases = new Set((await facts.query<{ name: string }>('SELECT name FROM system.databases')).map((d) => d.name.toLowerCase()));
  for (const name of ['system', 'information_schema', 'default']) databases.add(name);
  checkTree(tree, tables, databases);
  return canonical;
}

/**
 * Checks a SQL tag as saved (syntax, functions, and the tables and columns it resolves to, as a run of
 * today would), a refusal given as a validation error on the definition's `query` field (the API's 400).
 */
export async function validateSqlTag(facts: FactsStore, tag: SqlTag, workspaceId: string): Promise<void> {
  try {
    // A save answers an HTTP request: what resolving may compute is held tighter than a run.
    const limits = sqlTagLimits();
    const saving = { ...limits, maxSeconds: Math.min(limits.maxSeconds, SAVE_CHECK_SECONDS), maxMemoryBytes: Math.min(limits.maxMemoryBytes, SAVE_CHECK_MEMORY_BYTES) };
    await sandboxedQuery(facts, tag, { ws: workspaceId, base: new Date().toISOString().slice(0, 10), tz: 'UTC', sql_tag_runs: [] }, saving);
  } catch (error) {
    if (error instanceof SqlTagError) throw new ZodError([{ code: 'custom', path: ['query'], message: error.message, input: tag.query }]);
    throw error;
  }
}

/** How ClickHouse resolved a query: EXPLAIN QUERY TREE's lines. */
async function queryTree(facts: FactsStore, sql: string, params: Record<string, unknown>, limits: SandboxLimits): Promise<string[]> {
  // Resolving runs scalar subqueries, so it is held to the same limits as a run. Without
  // enable_scalar_subquery_optimization = 0 a scalar subquery folded into a constant (`(SELECT …)[1]`)
  // is printed as __getScalar('<hash>'), and the tables it reads vanish from the tree.
  const settings = sandboxSettingsSql(limits);
  let lines: string[];
  try {
    lines = (await facts.query<{ explain: string }>(`EXPLAIN QUERY TREE ${sql}\nSETTINGS readonly = 1, enable_scalar_subquery_optimization = 0, ${settings}`, params)).map(
      (r) => r.explain,
    );
  } catch (error) {
    const message = (error as Error).message;
    if (/MEMORY_LIMIT_EXCEEDED|TIMEOUT_EXCEEDED|TOO_MANY_ROWS|memory limit exceeded|Timeout exceeded|Limit for rows/i.test(message))
      throw new SqlTagError(sqlTagRunError(error, limits));
    const missing = /Unknown (?:table expression )?identifier '([^']*)'|Unknown table expression identifier `?([^`' ]*)/.exec(message);
    if (missing) throw new SqlTagError(`${missing[1] ?? missing[2]} is not a table or column a SQL tag can read; it reads ${tableList()}`);
    const column = /Unknown expression (?:or function )?identifier `?([^`' ]*)/.exec(message);
    if (column) throw new SqlTagError(`${column[1]}: no such column (the tables are ${tableList()})`);
    const fn = /Function with name `?([^`' ]*)`? does not exist/.exec(message);
    if (fn) throw new SqlTagError(`function ${fn[1]}() does not exist`);
    throw new SqlTagError('the query does not fit the tables a SQL tag reads (check the column names and types)');
  }
  return lines;
}

/**
 * Every table the operator's part reads (as ClickHouse resolved it) must be read in the body of one of the
 * sandbox's CTEs (`<nonce>_<name>`), and be the table that CTE reads; system.one (a SELECT without FROM)
 * holds nothing. A table read anywhere else, a table function, or a line that cannot be read is refused.
 */
function checkReads(lines: string[], db: string, nonce: string): void {
  const ancestors: Array<{ depth: number; text: string }> = [];
  for (const line of lines) {
    const text = line.trimStart();
    const depth = line.length - text.length;
    while (ancestors.length > 0 && ancestors[ancestors.length - 1].depth >= depth) ancestors.pop();
    if (/^TABLE_FUNCTION\b/.test(text)) throw new SqlTagError(`the query reads a table function, which a SQL tag cannot read; it reads ${tableList()}`);
    if (/^TABLE\b/.test(text)) {
      const table = /^TABLE id: \d+, (?:alias: [^,\s]+, )?table_name: ([^,\s]+\.[^,\s]+)(?:, final: 1)?$/.exec(text)?.[1];
      if (table === undefined) throw new SqlTagError(`the query reads a table a SQL tag cannot read; it reads ${tableList()}`);
      if (table !== 'system.one') {
        const query = [...ancestors].reverse().find((a) => /^QUERY id: /.test(a.text));
        const cte = query && new RegExp(`, is_cte: 1, cte_name: ${nonce}_([a-z_]+)$`).exec(query.text)?.[1];
        if (cte === undefined || !Object.hasOwn(SQL_TABLE_SOURCES, cte) || table !== `${db}.${SQL_TABLE_SOURCES[cte]}`) {
          throw new SqlTagError(
            `the query reads ${table.startsWith(`${db}.`) ? table.slice(db.length + 1) : table} outside the sandbox's tables, which a SQL tag cannot do; it reads ${tableList()}`,
          );
        }
      }
    }
    ancestors.push({ depth, text });
  }
}

/**
 * Checks an operator's query and returns the sandboxed SELECT (person_id, value) to insert from.
 * `params` binds base and tz, and sql_tag_runs: the current runs of the workspace's tags (for tag_values).
 */
export async function sandboxedQuery(facts: FactsStore, tag: SqlTag, params: Record<string, unknown>, limits = sqlTagLimits()): Promise<string> {
  const canonical = await checkSqlTag(facts, tag.query);
  return sandboxedCanonical(facts, canonical, tag.valueType, params, limits);
}

/**
 * The second check on its own (exported for its tests): the operator's part of an already checked
 * canonical text, resolved by ClickHouse and held to the sandbox's tables, then wrapped.
 */
export async function sandboxedCanonical(
  facts: FactsStore,
  canonical: string,
  valueType: SqlTag['valueType'],
  params: Record<string, unknown>,
  limits = sqlTagLimits(),
): Promise<string> {
  const [{ db }] = await facts.query<{ db: string }>('SELECT currentDatabase() AS db');
  const nonce = `sandbox_${crypto.randomBytes(12).toString('hex')}`;
  const operator = operatorPart(db, canonical, valueType, nonce);
  checkReads(await queryTree(facts, operator, params, limits), db, nonce);
  return wrap(db, operator);
}

/** A run's failure as an operator should read it: our own message, never ClickHouse's text. */
export function sqlTagRunError(error: unknown, held?: SandboxLimits): string {
  if (error instanceof SqlTagError || error instanceof ConfigError) return error.message;
  let limits: SandboxLimits;
  try {
    limits = held ?? sqlTagLimits();
  } catch (config) {
    return (config as Error).message;
  }
  const message = (error as Error).message ?? '';
  if (/MEMORY_LIMIT_EXCEEDED|memory limit exceeded/i.test(message))
    return `the query needs more than ${Math.round(limits.maxMemoryBytes / 1024 ** 2)} MiB of memory (SIYU_SQL_TAG_MAX_MEMORY_BYTES)`;
  if (/TIMEOUT_EXCEEDED|Timeout exceeded/i.test(message)) return `the query ran longer than ${limits.maxSeconds} s (SIYU_SQL_TAG_MAX_SECONDS)`;
  if (/TOO_MANY_ROWS|Limit for rows/i.test(message)) return `the query reads or returns too many rows (SIYU_SQL_TAG_MAX_ROWS_TO_READ, SIYU_SQL_TAG_MAX_RESULT_ROWS)`;
  if (/TOO_MANY_BYTES|Limit for result/i.test(message)) return 'the query returns too much';
  if (/CANNOT_PARSE|Cannot parse|CANNOT_CONVERT|Cannot convert|TYPE_MISMATCH|ILLEGAL_TYPE_OF_ARGUMENT|NO_COMMON_TYPE|Illegal type/i.test(message))
    return "the query's values do not fit the tag's type, or a function got a value of the wrong type";
  if (/ILLEGAL_DIVISION|Division by zero/i.test(message)) return 'the query divides by zero';
  if (/TOO_LARGE_ARRAY_SIZE|ARGUMENT_OUT_OF_BOUND|too large|out of bound/i.test(message))
    return 'a function in the query got a value out of its range (an array too large, an index out of bounds)';
  return 'the query failed while running (check it on a small example first)';
}
