/**
 * Order files imported inside ClickHouse: the engine parses the CSV/TSV (GB18030 converted per
 * column), maps the layout's columns to canonical fields, checks and normalises every value, groups
 * lines into orders, compares each order with what is stored, and writes orders, lines, source records
 * and quarantine rows with INSERT … SELECT. JS never touches a row, so a file of millions of rows
 * streams through the engine's parser instead of the event loop.
 *
 * The checks and their messages are the same as the row-by-row importer's (entities.ts, values.ts,
 * identifier-types.ts); a test imports the demo brand both ways and compares everything written.
 * Used for order and order-line layouts in CSV (UTF-8 or GB18030, optionally gzip; comma, semicolon
 * or pipe) on chDB; other files (TSV, XLSX, other kinds, a ClickHouse server, which cannot read this
 * machine's files) take the row-by-row path. A quarantined row's number is its record's number plus
 * one for the header, which is its line unless a quoted cell above it spans lines.
 */
import type { Stores } from '../stores/stores.ts';
import type { IdentifierType } from '../identity/identifier-types.ts';
import type { FileShape } from './file-reader.ts';
import { IDENTIFIER_FIELDS, type ColumnSource, type FileLayout } from './layouts.ts';
import { nextVersion } from './writer.ts';
import type { ImportCounts } from './importer.ts';

/** The canonical fields an order row may carry (the stage table has one column for each). */
const ORDER_FIELDS = [
  'order_id', 'ordered_at', 'paid_at', 'amount', 'discount', 'postage', 'refunded', 'status', 'store_id', 'store_name',
  'masked_phone', 'name', 'address', 'birthday',
  'line_no', 'sku', 'product_name', 'category', 'quantity', 'unit_price', 'line_discount', 'line_amount', 'package_periods', 'package_text',
  ...IDENTIFIER_FIELDS,
] as const;
type OrderField = (typeof ORDER_FIELDS)[number];

export const SQL_ORDER_STAGE_TABLES = ['import_stage_rows', 'import_stage_orders'];

/** Whether this file can be imported in SQL (else the row-by-row importer takes it). */
export function sqlImportable(stores: Stores, shape: FileShape, layout: FileLayout | undefined): boolean {
  if (stores.facts.engine !== 'chdb' || !layout) return false;
  if (layout.shape !== 'order' && layout.shape !== 'order_line') return false;
  if (shape.format !== 'csv' || !['utf-8', 'utf-8-bom', 'gb18030'].includes(shape.encoding ?? '')) return false;
  // ClickHouse's CSV reader takes no tab (and its other formats read quoted TSV differently).
  if (shape.delimiter === ' ' || shape.delimiter === '\t') return false;
  return Object.keys(layout.fields).every((field) => (ORDER_FIELDS as readonly string[]).includes(field) || field === 'currency');
}


export interface SqlOrderImport {
  workspaceId: string;
  runId: string;
  fileNo: number;
  /** The file's name as quarantine rows show it. */
  fileName: string;
  shape: FileShape;
  layout: FileLayout;
  columnIndex: Map<string, number>;
  source: string;
  timeZone: string;
  identifierTypes: Map<string, IdentifierType>;
  /** Called once the file is read into the stage, with its row count. */
  onStaged?: (rows: number) => void;
}

// --- SQL expression builders. Field names come from ORDER_FIELDS (constants); every value from the
// file or the user is a bound parameter.

const TRIM = `'^[\\\\s\\\\x{3000}\\\\x{A0}\\\\x{FEFF}]+|[\\\\s\\\\x{3000}\\\\x{A0}\\\\x{FEFF}]+$'`;
const trimmed = (expr: string) => `replaceRegexpAll(${expr}, ${TRIM}, '')`;

/** One problem, as the row-by-row importer reports it. */
const problem = (condition: string, field: string, value: string, reason: string, action: 'row_rejected' | 'value_dropped') =>
  `if(${condition}, [tuple('${field}', ${value}, ${reason}, '${action}')], [])`;

const DATE_TIME = `'^(\\\\d{4})[-/.年](\\\\d{1,2})[-/.月](\\\\d{1,2})日?(?:[ T](\\\\d{1,2}):(\\\\d{2})(?::(\\\\d{2})(?:\\\\.(\\\\d{1,6}))?)?)?\\\\s*(Z|[+-]\\\\d{2}:?\\\\d{2})?$'`;

/**
 * A date and time in the workspace's zone (or with its own offset), or an Excel serial date: the
 * value (Nullable DateTime64 in UTC) and its problem, as values.ts parseDateTime.
 */
function timeOf(field: string, required: boolean): { value: string; problems: string } {
  const t = `f_${field}`;
  // The regex's groups are a column of the query below (parsed once per row, not once per use).
  const g = `g_${field}`;
  const n = (i: number) => `toUInt32OrZero(${g}[${i}])`;
  const inRange = `(${n(2)} BETWEEN 1 AND 12 AND ${n(3)} BETWEEN 1 AND 31 AND ${n(4)} <= 23 AND ${n(5)} <= 59 AND ${n(6)} <= 60)`;
  // Every branch is computed for every row (short-circuiting costs more than it saves here), so the
  // parts are clamped into range: an invalid row's value is computed, then thrown away.
  const year = `least(greatest(${n(1)}, 1900), 2299)`;
  const month = `least(greatest(${n(2)}, 1), 12)`;
  const lastDay = `toDayOfMonth(toLastDayOfMonth(makeDate32(${year}, ${month}, 1)))`;
  const realDate = `(${lastDay} >= ${n(3)})`;
  const day = `least(greatest(${n(3)}, 1), ${lastDay})`;
  const matched = `(length(${g}) > 0)`;
  const millis = `toUInt32OrZero(substring(concat(${g}[7], '000'), 1, 3))`;
  const zone = `${g}[8]`;
  const zoneSeconds = `(if(startsWith(${zone}, '-'), -1, 1) * (toInt32OrZero(substring(replaceRegexpAll(${zone}, '[+:-]', ''), 1, 2)) * 3600 + toInt32OrZero(substring(replaceRegexpAll(${zone}, '[+:-]', ''), 3, 2)) * 60))`;
  const parts = `${year}, ${month}, ${day}, least(${n(4)}, 23), least(${n(5)}, 59), least(${n(6)}, 59), ${millis}, 3`;
  const wallUtc = `makeDateTime64(${parts}, 'UTC')`;
  const local = `toTimeZone(makeDateTime64(${parts}, {tz:String}), 'UTC')`;
  const parsed = `if(${zone} = 'Z', ${wallUtc}, if(${zone} != '', addSeconds(${wallUtc}, -${zoneSeconds}), ${local}))`;
  // An Excel serial date (days since 1899-12-30) is a wall time in the workspace's zone.
  const serial = `match(${t}, '^\\\\d{5}(\\\\.\\\\d+)?$')`;
  const serialWall = `fromUnixTimestamp64Milli(toInt64(round((least(greatest(toFloat64OrZero(${t}), 25569), 150000) - 25569) * 86400000)), 'UTC')`;
  const serialValue = `toTimeZone(parseDateTime64BestEffortOrNull(formatDateTime(${serialWall}, '%Y-%m-%d %H:%i:%s', 'UTC'), 3, {tz:String}), 'UTC')`;
  const ok = `(${matched} AND ${inRange} AND ${realDate})`;
  const value = `if(${t} = '', NULL, if(${ok}, ${parsed}, if(${serial}, ${serialValue}, NULL)))`;
  const action = required ? 'row_rejected' : 'value_dropped';
  const problems = [
    required ? problem(`${t} = ''`, field, t, `'required, but empty'`, 'row_rejected') : '[]',
    problem(`${t} != '' AND NOT ${matched} AND NOT ${serial}`, field, t, `'expected a date and time like 2026-06-18 20:15:00'`, action),
    problem(`${t} != '' AND ${matched} AND NOT ${inRange}`, field, t, `'not a real date or time'`, action),
    problem(`${t} != '' AND ${matched} AND ${inRange} AND NOT ${realDate}`, field, t, `'not a real date'`, action),
  ];
  return { value: `CAST(${value} AS Nullable(DateTime64(3, 'UTC')))`, problems: `arrayConcat(${problems.join(', ')})` };
}

/** Money as values.ts parseMoney: "¥1,299.00" → 1299.00. */
function moneyOf(field: string, required: boolean): { given: string; value: string; problems: string } {
  const t = `f_${field}`;
  const clean = `replaceRegexpAll(${t}, '[¥￥,\\\\s元]', '')`;
  const valid = `match(${clean}, '^-?\\\\d+(\\\\.\\\\d{1,2})?$')`;
  const problems = [
    required ? problem(`${t} = ''`, field, t, `'required, but empty'`, 'row_rejected') : '[]',
    problem(`${t} != '' AND NOT ${valid}`, field, t, `'expected an amount like 1299.00'`, required ? 'row_rejected' : 'value_dropped'),
  ];
  return { given: `(${t} != '')`, value: `if(${t} != '' AND ${valid}, toDecimal64OrZero(${clean}, 2), toDecimal64(0, 2))`, problems: `arrayConcat(${problems.join(', ')})` };
}

/** A whole number as values.ts parseCount, with a fallback when empty or invalid. */
function countOf(field: string, fallback: number): { value: string; problems: string } {
  const t = `f_${field}`;
  const clean = `replaceRegexpAll(${t}, '[,\\\\s]', '')`;
  const digits = `match(${clean}, '^\\\\d+$')`;
  const tooLarge = `(length(${clean}) > 10 OR toUInt64OrZero(${clean}) > 2147483647)`;
  return {
    value: `if(${t} != '' AND ${digits} AND NOT ${tooLarge}, toInt64OrZero(${clean}), ${fallback})`,
    problems: `arrayConcat(${problem(`${t} != '' AND NOT ${digits}`, field, t, `'expected a whole number'`, 'value_dropped')}, ${problem(`${t} != '' AND ${digits} AND ${tooLarge}`, field, t, `'too large'`, 'value_dropped')})`,
  };
}

const BIRTHDAY = `'^(\\\\d{4})[-/.]?(\\\\d{1,2})[-/.]?(\\\\d{1,2})$'`;

/** A date of birth as values.ts parseBirthday, kept as YYYY-MM-DD text. */
function birthdayOf(): { value: string; problems: string } {
  const t = 'f_birthday';
  const g = 'g_birthday';
  const n = (i: number) => `toUInt32OrZero(${g}[${i}])`;
  const matched = `(length(${g}) > 0)`;
  const year = `least(greatest(${n(1)}, 1900), 2299)`;
  const month = `least(greatest(${n(2)}, 1), 12)`;
  const lastDay = `toDayOfMonth(toLastDayOfMonth(makeDate32(${year}, ${month}, 1)))`;
  const date = `makeDate32(${year}, ${month}, least(greatest(${n(3)}, 1), ${lastDay}))`;
  const real = `(${n(2)} BETWEEN 1 AND 12 AND ${n(3)} >= 1 AND ${lastDay} >= ${n(3)} AND ${n(1)} >= 1900 AND ${n(1)} <= 2299 AND ${date} <= today())`;
  return {
    value: `if(${t} != '' AND ${matched} AND ${real}, toString(${date}), '')`,
    problems: `arrayConcat(${problem(`${t} != '' AND NOT ${matched}`, 'birthday', t, `'expected a date like 1990-03-04'`, 'value_dropped')}, ${problem(`${t} != '' AND ${matched} AND NOT ${real}`, 'birthday', t, `'not a real date of birth'`, 'value_dropped')})`,
  };
}

const MASKED_PHONE = `'^(?:\\\\+?86)?1\\\\d{2}\\\\*{3,5}\\\\d{4}$'`;
/** normaliseMaskedPhone: "138****5678", or '' when the text is not a masked phone. */
const maskedPhoneOf = (expr: string) => {
  const compact = `replaceRegexpOne(replaceRegexpAll(${expr}, '[\\\\s\\\\-]', ''), '^\\\\+?86', '')`;
  const g = `extractGroups(${compact}, '^(1\\\\d{2})\\\\*{3,5}(\\\\d{4})$')`;
  return `if(length(${g}) > 0, concat(${g}[1], '****', ${g}[2]), '')`;
};

/**
 * The identifiers of a row (each identifier field the layout maps and the workspace declares, values
 * split on ; ； 、 |), the masked phone, and the values dropped — as RowReader.identifiers().
 */
function identifiersOf(fields: string[], types: Map<string, IdentifierType>): { value: string; masked: string; problems: string } {
  const parts: string[] = [];
  const problems: string[] = [];
  let masked = maskedPhoneOf('f_masked_phone');
  for (const field of IDENTIFIER_FIELDS) {
    if (!fields.includes(field)) continue;
    const values = `arrayFilter(v -> v != '', arrayMap(v -> ${trimmed('v')}, splitByRegexp('[;；、|]', f_${field})))`;
    let candidates = values;
    if (field === 'phone') {
      const isMasked = `(match(replaceRegexpAll(v, '[\\\\s-]', ''), ${MASKED_PHONE}) OR position(v, '*') > 0)`;
      // The last masked value wins, as in the row-by-row reader.
      masked = `if(length(arrayFilter(v -> ${isMasked} AND ${maskedPhoneOf('v')} != '', ${values})) > 0, ${maskedPhoneOf(`arrayFilter(v -> ${isMasked} AND ${maskedPhoneOf('v')} != '', ${values})[-1]`)}, ${masked})`;
      candidates = `arrayFilter(v -> NOT ${isMasked}, ${values})`;
    }
    const type = types.get(field);
    if (!type) continue;
    const { normalised, error } = normaliser(type.normaliser);
    parts.push(`arrayMap(v -> tuple('${field}', ${normalised}), arrayFilter(v -> ${error} = '', ${candidates}))`);
    problems.push(`arrayMap(v -> tuple('${field}', v, ${error}, 'value_dropped'), arrayFilter(v -> ${error} != '', ${candidates}))`);
  }
  return {
    value: parts.length > 0 ? `CAST(arrayConcat(${parts.join(', ')}) AS Array(Tuple(type String, value String)))` : `CAST([] AS Array(Tuple(type String, value String)))`,
    masked,
    problems: problems.length > 0 ? `arrayConcat(${problems.join(', ')})` : '[]',
  };
}

/** An identifier type's normaliser over `v`: the normalised value and the error ('' when fine). */
function normaliser(kind: IdentifierType['normaliser']): { normalised: string; error: string } {
  switch (kind) {
    case 'phone_cn': {
      const compact = `replaceRegexpAll(v, '[\\\\s\\\\-().\\\\x{3000}]', '')`;
      const digits = `multiIf(startsWith(${compact}, '+86'), substring(${compact}, 4), startsWith(${compact}, '0086'), substring(${compact}, 5), startsWith(${compact}, '86') AND length(${compact}) = 13, substring(${compact}, 3), ${compact})`;
      return {
        normalised: `concat('+86', ${digits})`,
        error: `multiIf(match(${compact}, ${MASKED_PHONE}) OR position(${compact}, '*') > 0, 'a masked phone is not an identifier', NOT match(${digits}, '^1[3-9]\\\\d{9}$'), 'expected a mainland mobile number: 11 digits starting with 13–19', '')`,
      };
    }
    case 'email':
      return { normalised: `lowerUTF8(${trimmed('v')})`, error: `if(match(lowerUTF8(${trimmed('v')}), '^[^\\\\s@]+@[^\\\\s@]+\\\\.[^\\\\s@]+$'), '', 'expected an email address like name@example.com')` };
    case 'lower':
      return { normalised: `lowerUTF8(${trimmed('v')})`, error: `''` };
    default:
      return { normalised: trimmed('v'), error: `if(${trimmed('v')} = '', 'empty', '')` };
  }
}

/** FNV-1a over the UTF-16 code units of a string, as entities.ts lineNumber. */
const fnv1a = (expr: string) => {
  const bytes = `convertCharset(${expr}, 'UTF-8', 'UTF-16LE')`;
  const units = `arrayMap(i -> toUInt64(reinterpretAsUInt16(substring(${bytes}, 2 * i + 1, 2))), range(intDiv(length(${bytes}), 2)))`;
  return `toUInt32(arrayFold((acc, x) -> bitAnd(bitXor(acc, x) * 16777619, 4294967295), ${units}, toUInt64(2166136261)))`;
};

/** A canonical field from the file's raw columns, as importer.ts extract(). */
function fieldFrom(source: ColumnSource, columnIndex: Map<string, number>, raw: (i: number) => string, params: Record<string, unknown>, key: string): string {
  const column = (header: string) => (columnIndex.has(header) ? raw(columnIndex.get(header)!) : `''`);
  const mapped = (expr: string, map: Record<string, string> | undefined) => {
    if (!map) return expr;
    params[`${key}_k`] = Object.keys(map);
    params[`${key}_v`] = Object.values(map);
    return `transform(${expr}, {${key}_k:Array(String)}, {${key}_v:Array(String)}, ${expr})`;
  };
  if (typeof source === 'string') return column(source);
  if ('header' in source) return mapped(column(source.header), source.map);
  return mapped(`arrayStringConcat(arrayFilter(v -> v != '', [${source.columns.map(column).join(', ')}]), ' ')`, source.map);
}

export async function importOrdersWithSql(stores: Stores, job: SqlOrderImport): Promise<ImportCounts> {
  const { facts } = stores;
  const fields = Object.keys(job.layout.fields).filter((f) => (ORDER_FIELDS as readonly string[]).includes(f)) as OrderField[];
  const width = Math.max(...job.columnIndex.values()) + 1;
  const params: Record<string, unknown> = {
    ws: job.workspaceId,
    run: job.runId,
    file: job.fileNo,
    file_name: job.fileName,
    path: job.shape.path,
    tz: job.timeZone,
    source: job.source,
  };
  const convert = job.shape.encoding === 'gb18030';
  const raw = (i: number) => trimmed(convert ? `convertCharset(c${i}, 'GB18030', 'UTF-8')` : `c${i}`);
  const structure = Array.from({ length: width }, (_, i) => `c${i} String`).join(', ');
  const delimiter = job.shape.delimiter ?? ',';
  if (![',', ';', '|'].includes(delimiter)) throw new Error(`unexpected delimiter ${JSON.stringify(delimiter)}`);
  const stageColumns = ORDER_FIELDS.map((f) => `f_${f}`).join(', ');
  const stageValues = ORDER_FIELDS.map((f, i) => (fields.includes(f) ? fieldFrom(job.layout.fields[f], job.columnIndex, raw, params, `m${i}`) : `''`)).join(',\n');
  params.row_keys = Object.keys(job.layout.fields);
  const rowJson = `toJSONString(CAST(({row_keys:Array(String)}, [${Object.keys(job.layout.fields)
    .map((f) => ((ORDER_FIELDS as readonly string[]).includes(f) ? `f_${f}` : `''`))
    .join(', ')}]) AS Map(String, String)))`;

  // 1. The file into the stage: one row per non-empty data row, canonical fields as text. The
  // structure and settings are built from this module's constants and the sniffed shape.
  await facts.command(
    `INSERT INTO import_stage_rows (run_id, file_no, row_number, ${stageColumns})
     SELECT {run:String}, {file:UInt16}, _row_number + 1, ${stageValues}
     FROM file({path:String}, 'CSV', '${structure}', '${job.shape.gzip ? 'gzip' : 'none'}')
     WHERE _row_number >= 1 AND NOT arrayAll(v -> ${trimmed('v')} = '', [${Array.from({ length: width }, (_, i) => `c${i}`).join(', ')}])
     SETTINGS format_csv_delimiter = '${delimiter}', input_format_csv_allow_variable_number_of_columns = 1,
              input_format_csv_skip_trailing_empty_lines = 1, format_csv_allow_single_quotes = 0`,
    params,
  );

  if (job.onStaged) {
    const [staged] = await facts.query<{ n: string }>(`SELECT count() AS n FROM import_stage_rows WHERE run_id = {run:String} AND file_no = {file:UInt16}`, params);
    job.onStaged(Number(staged.n));
  }

  // 2. Every row parsed and checked; then one row per order with its lines, problems and hash.
  const orderedAt = timeOf('ordered_at', true);
  const paidAt = timeOf('paid_at', false);
  const postage = moneyOf('postage', false);
  const refunded = moneyOf('refunded', false);
  const amount = moneyOf('amount', true);
  const discount = moneyOf('discount', false);
  const ids = identifiersOf(fields, job.identifierTypes);
  const birthday = birthdayOf();
  const quantity = countOf('quantity', 1);
  const unitPrice = moneyOf('unit_price', false);
  const lineDiscount = moneyOf('line_discount', false);
  const lineAmount = moneyOf('line_amount', false);
  const periods = countOf('package_periods', 0);
  const isLine = job.layout.shape === 'order_line';
  const packageText = `extractGroups(f_package_text, '周期购\\\\s*(\\\\d+)\\\\s*期|(\\\\d+)\\\\s*期')`;
  const linePeriods = `if(${periods.value} > 0, ${periods.value}, if(length(${packageText}) > 0, toInt64OrZero(if(${packageText}[1] != '', ${packageText}[1], ${packageText}[2])), 0))`;
  const hasLine = isLine ? `(f_sku != '' OR f_product_name != '' OR f_line_no != '')` : '0';
  const lineAmountValue = `if(${lineAmount.given}, ${lineAmount.value}, greatest(toDecimal64(0, 2), ${unitPrice.value} * toDecimal64(${quantity.value}, 0) - ${lineDiscount.value}))`;
  // Order-level problems count on an order's first row only; line problems on every row.
  const orderProblems = [
    problem(`f_order_id = ''`, 'order_id', 'f_order_id', `'required, but empty'`, 'row_rejected'),
    orderedAt.problems, paidAt.problems, postage.problems, refunded.problems, ids.problems,
  ];
  const lineProblems = isLine
    ? `if(${hasLine}, arrayConcat(${quantity.problems}, ${unitPrice.problems}, ${lineDiscount.problems}, ${lineAmount.problems}, ${periods.problems}), [])`
    : '[]';
  // A row without an order id is an order of its own (and refused for it).
  const groupKey = `if(f_order_id = '', concat(char(0), toString(row_number)), f_order_id)`;
  const problemType = 'Array(Tuple(field String, value String, reason String, action String))';

  const lineTuple = 'Tuple(Int64, UInt8, String, String, String, String, Int32, Decimal(18, 2), Decimal(18, 2), Decimal(18, 2), UInt16, ' + problemType + ')';
  const rowLines = isLine
    ? `arraySort(x -> x.1, groupArray(tuple(toInt64(row_number), toUInt8(${hasLine}), f_line_no, f_sku, f_product_name, f_category, toInt32(${quantity.value}),
                                             ${unitPrice.value}, ${lineDiscount.value}, ${lineAmountValue}, toUInt16(least(${linePeriods}, 65535)),
                                             CAST(${lineProblems} AS ${problemType}))))`
    : `CAST([] AS Array(${lineTuple}))`;

  await facts.command(
    `INSERT INTO import_stage_orders
     WITH stage AS (
       SELECT *, ${groupKey} AS group_key,
              extractGroups(f_ordered_at, ${DATE_TIME}) AS g_ordered_at, extractGroups(f_paid_at, ${DATE_TIME}) AS g_paid_at,
              extractGroups(f_birthday, ${BIRTHDAY}) AS g_birthday
       FROM import_stage_rows WHERE run_id = {run:String} AND file_no = {file:UInt16}
     ),
     -- The row that speaks for each order (its first line; for one-row orders the last repeat) and its lines.
     picked AS (
       SELECT group_key, ${isLine ? 'min' : 'max'}(row_number) AS first_row, toUInt32(count()) AS row_count, ${rowLines} AS row_lines
       FROM stage GROUP BY group_key
     ),
     -- Order-level values, computed for those rows only.
     heads AS (
       SELECT row_number, f_order_id AS order_id,
              CAST(arrayConcat(${orderProblems.join(', ')}) AS ${problemType}) AS order_problems,
              ${orderedAt.value} AS ordered_at, ${paidAt.value} AS paid_at,
              ${postage.value} AS postage, ${refunded.value} AS refunded,
              ${amount.given} AS amount_given, ${amount.value} AS amount_value, ${amount.problems} AS amount_problems,
              ${discount.given} AS discount_given, ${discount.value} AS discount_value, ${discount.problems} AS discount_problems,
              lowerUTF8(f_status) AS status_text, f_store_id AS store_id, f_store_name AS store_name,
              ${ids.value} AS identifiers, ${ids.masked} AS masked_phone, f_name AS name,
              ${trimmed(`replaceRegexpAll(replaceRegexpOne(f_address, '\\\\(\\\\d{6}\\\\)\\\\s*$', ''), '\\\\s+', ' ')`)} AS address,
              ${birthday.value} AS birthday, ${birthday.problems} AS birthday_problems
       FROM stage WHERE row_number IN (SELECT first_row FROM picked)
     ),
     orders AS (
       SELECT h.*, p.first_row AS first_row, p.row_count AS row_count, p.row_lines AS row_lines,
              arrayMap((r, i) -> tuple(${fnv1a(`concat(h.order_id, '#', multiIf(r.3 != '', r.3, r.4 != '', r.4, r.5 != '', r.5, toString(i - 1)))`)},
                                       r.4, r.5, r.6, r.7, r.8, r.9, r.10, r.11),
                       arrayFilter(r -> r.2, p.row_lines), arrayFilter((i, r) -> r.2, arrayEnumerate(p.row_lines), p.row_lines)) AS lines,
              arraySum(arrayMap(l -> l.8, lines)) AS line_total,
              arraySum(arrayMap(l -> toInt64(l.5), lines)) AS item_count,
              if(h.amount_given, h.amount_value, line_total + h.postage) AS amount,
              arrayConcat(h.order_problems,
                           if(h.amount_given, arrayConcat(h.amount_problems, if(h.amount_value < 0, [tuple('amount', toString(h.amount_value), 'must not be negative', 'row_rejected')], [])),
                              if(length(lines) = 0, [tuple('amount', '', 'required, but empty', 'row_rejected')], [])),
                           h.discount_problems,
                           arrayFlatten(arrayMap(r -> r.12, p.row_lines))) AS checked,
              -- The birthday is read once the order is accepted: a refused order reports no birthday problem.
              arrayConcat(checked, if(arrayExists(x -> x.4 = 'row_rejected', checked), [], h.birthday_problems)) AS problems,
              if(h.status_text IN ('pending', 'paid', 'shipped', 'completed', 'cancelled', 'refunded'), h.status_text,
                 if(h.status_text != '', h.status_text, if(h.paid_at IS NOT NULL, 'paid', 'completed'))) AS status_0
       FROM picked AS p INNER JOIN heads AS h ON h.row_number = p.first_row
     )
     SELECT {run:String} AS run_id, {file:UInt16} AS file_no, order_id, first_row, row_count,
            toUInt8(arrayExists(x -> x.4 = 'row_rejected', problems)) AS rejected, problems, '' AS row_json,
            if(status_0 = 'cancelled' AND refunded > 0 AND refunded >= amount, 'refunded', status_0) AS status,
            ordered_at, paid_at, amount,
            if(discount_given, discount_value, arraySum(arrayMap(l -> l.7, lines))) AS discount,
            postage, refunded, toUInt32(item_count) AS item_count, store_id, store_name,
            toUInt8(arrayMax(arrayConcat([toUInt16(0)], arrayMap(l -> l.9, lines))) > 0) AS is_package,
            arrayMax(arrayConcat([toUInt16(0)], arrayMap(l -> l.9, lines))) AS package_periods,
            identifiers, masked_phone, name, address, birthday,
            CAST(lines AS Array(Tuple(line_no UInt32, sku String, product_name String, category String, quantity Int32,
                                      unit_price Decimal(18, 2), discount Decimal(18, 2), amount Decimal(18, 2), package_periods UInt16))) AS lines,
            -- A hash of NULL is NULL: the optional times are hashed with a marker for "none".
            sipHash64(status, ifNull(toString(ordered_at), '-'), ifNull(toString(paid_at), '-'), amount, discount, postage, refunded, item_count, store_id, store_name,
                      package_periods, identifiers, masked_phone, name, address, birthday, lines) AS row_hash
     FROM orders
     SETTINGS short_circuit_function_evaluation = 'disable'`,
    params,
  );

  // 3. What is stored under each order, and the counts. For one-row orders a repeated id keeps its
  // last row and counts the others as unchanged, as the row-by-row importer does.
  const stored = `(SELECT record_id, toString(row_hash) AS stored_hash, person_id AS stored_person, import_run_id AS stored_run FROM source_records FINAL
      WHERE workspace_id = {ws:String} AND source = {source:String} AND kind = 'order'
        AND record_id IN (SELECT order_id FROM import_stage_orders WHERE run_id = {run:String} AND file_no = {file:UInt16}))`;
  const staged = `(SELECT * FROM import_stage_orders WHERE run_id = {run:String} AND file_no = {file:UInt16}) AS o`;
  const joined = `${staged} LEFT JOIN ${stored} AS s ON o.order_id = s.record_id`;
  const isStored = `(s.record_id != '')`;
  const same = `(${isStored} AND s.stored_hash = toString(o.row_hash))`;
  const write = `(NOT o.rejected AND NOT ${same})`;
  const rowsOf = isLine ? 'o.row_count' : '1';
  const duplicates = isLine ? '0' : 'o.row_count - 1';
  const [counts] = await facts.query<Record<string, string>>(
    `SELECT
       (SELECT count() FROM import_stage_rows WHERE run_id = {run:String} AND file_no = {file:UInt16}) AS rowsRead,
       sumIf(${rowsOf}, NOT o.rejected AND (NOT ${isStored} OR (${same} AND s.stored_run = {run:String}))) AS landed,
       sumIf(${rowsOf}, NOT o.rejected AND ${isStored} AND NOT ${same}) AS updated,
       sumIf(${rowsOf}, NOT o.rejected AND ${same} AND s.stored_run != {run:String}) + sumIf(${duplicates}, NOT o.rejected) AS unchanged,
       sumIf(o.row_count, o.rejected) AS quarantined,
       sumIf(length(o.problems), NOT o.rejected) AS valuesDropped
     FROM ${joined}`,
    params,
  );

  // 4. Facts first, then the records that say they were written (a crash in between re-writes the
  // same rows on the next attempt), then quarantine.
  const version = nextVersion();
  const person = `if(${isStored}, s.stored_person, 0)`;
  const insert = async (sql: string) => facts.command(sql, { ...params, v: version });
  await insert(
    `INSERT INTO orders (workspace_id, person_id, source, order_id, status, ordered_at, paid_at, amount, discount, postage, refunded,
                         item_count, store_id, store_name, is_package, package_periods, import_run_id, version)
     SELECT {ws:String}, ${person}, {source:String}, o.order_id, o.status, assumeNotNull(o.ordered_at), o.paid_at, o.amount, o.discount, o.postage, o.refunded,
            o.item_count, o.store_id, o.store_name, o.is_package, o.package_periods, {run:String}, {v:UInt64}
     FROM ${joined} WHERE ${write}`,
  );
  if (isLine) {
    await insert(
      `INSERT INTO order_lines (workspace_id, person_id, source, order_id, line_no, sku, product_name, category, quantity, unit_price, discount, amount, package_periods, version)
       SELECT {ws:String}, ${person}, {source:String}, o.order_id, l.line_no, l.sku, l.product_name, l.category, l.quantity, l.unit_price, l.discount, l.amount, l.package_periods, {v:UInt64}
       FROM ${joined} ARRAY JOIN o.lines AS l WHERE ${write}`,
    );
  }
  await insert(
    `INSERT INTO source_records (workspace_id, source, kind, record_id, person_id, identifiers, name, masked_phone, address, birthday, seen_at, row_hash, import_run_id, version)
     SELECT {ws:String}, {source:String}, 'order', o.order_id, ${person}, o.identifiers, o.name, o.masked_phone, o.address, o.birthday,
            assumeNotNull(o.ordered_at), o.row_hash, {run:String}, {v:UInt64}
     FROM ${joined} WHERE ${write}`,
  );
  // A changed record may carry other identifiers: its person is resolved again by the next run.
  await insert(
    `INSERT INTO resolution_pending (workspace_id, person_id, version)
     SELECT DISTINCT {ws:String}, s.stored_person, {v:UInt64} FROM ${joined} WHERE ${write} AND ${isStored} AND s.stored_person > 0`,
  );
  await insert(
    `INSERT INTO import_quarantine (workspace_id, run_id, file, row_number, field, value, reason, action, row, at)
     SELECT {ws:String}, {run:String}, {file_name:String}, o.first_row, p.1, p.2, p.3, p.4, r.row_json, now64(3)
     FROM ${staged} ARRAY JOIN o.problems AS p
     -- The row as read, for the few orders with problems only.
     INNER JOIN (SELECT row_number, ${rowJson} AS row_json FROM import_stage_rows
                 WHERE run_id = {run:String} AND file_no = {file:UInt16}
                   AND row_number IN (SELECT first_row FROM import_stage_orders WHERE run_id = {run:String} AND file_no = {file:UInt16} AND notEmpty(problems))) AS r
       ON r.row_number = o.first_row
     SETTINGS output_format_json_escape_forward_slashes = 0`,
  );
  return {
    rowsRead: Number(counts.rowsRead),
    landed: Number(counts.landed),
    updated: Number(counts.updated),
    unchanged: Number(counts.unchanged),
    quarantined: Number(counts.quarantined),
    valuesDropped: Number(counts.valuesDropped),
  };
}

/** Drops a run's stage partitions (run ids are generated by the importer, never user input). */
export async function dropImportStage(stores: Stores, runId: string): Promise<void> {
  if (!/^imp_[0-9a-f]+$/.test(runId)) throw new Error(`invalid import run id ${runId}`);
  for (const table of SQL_ORDER_STAGE_TABLES) await stores.facts.command(`ALTER TABLE ${table} DROP PARTITION '${runId}'`).catch(() => undefined);
}
