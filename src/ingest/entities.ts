/**
 * From canonical field values to what lands in the facts store: a source record (identifiers and
 * profile evidence, the unit of OneID) and fact rows (orders, lines, shipments, refunds, contacts).
 * Every problem names its field and what was expected.
 */
import crypto from 'node:crypto';
import { MASKED_PHONE, normalise, normaliseMaskedPhone, type IdentifierType } from '../identity/identifier-types.ts';
import { IDENTIFIER_FIELDS, type RowShape } from './layouts.ts';
import { parseBirthday, parseCount, parseDateTime, parseMoney } from './values.ts';
import { clickhouseTime } from '../kernel/time.ts';

export interface FieldProblem {
  field: string;
  value: string;
  reason: string;
  /** A rejected row does not land; a dropped value lands the row without that value. */
  action: 'row_rejected' | 'value_dropped';
}

export interface SourceRecord {
  source: string;
  /** `identity`: one per distinct identifier set seen on tracked events; `event` only in data written before it. */
  kind: 'order' | 'member' | 'contact' | 'record' | 'event' | 'identity' | 'product';
  record_id: string;
  identifiers: Array<[string, string]>;
  name: string;
  masked_phone: string;
  address: string;
  birthday: string;
  attributes: Record<string, string>;
  seen_at: string;
}

export type FactTable = 'orders' | 'order_lines' | 'shipments' | 'refunds' | 'contacts' | 'events' | 'products';

/** A fact row and the record whose person it belongs to. */
export interface FactRow {
  table: FactTable;
  /** Change-detection key for rows without a record of their own (lines, shipments, refunds). */
  key: string;
  owner: { source: string; kind: SourceRecord['kind']; record_id: string };
  row: Record<string, unknown>;
}

export interface Entity {
  record?: SourceRecord;
  facts: FactRow[];
  /** Stable hash of everything the entity writes: unchanged hash, nothing to write. */
  hash: string;
  /** Values that were dropped (the row still lands), each with its reason. */
  dropped?: FieldProblem[];
  /** Source rows this entity was read from (an order's lines); counts are in rows. */
  rows?: number;
  /** Written alongside and deduplicated like any entity, but not counted as a row (an event's identity record). */
  companions?: Entity[];
  /** An order read with its lines: when it changes, these lines replace all its stored ones (a line no longer there is deleted). */
  ownsLines?: boolean;
}

export class RowRejected extends Error {
  override name = 'RowRejected';
  readonly problems: FieldProblem[];
  constructor(problems: FieldProblem[]) {
    super(problems.map((p) => `${p.field}: ${p.reason}`).join('; '));
    this.problems = problems;
  }
}

export interface EntityContext {
  source: string;
  timeZone: string;
  identifierTypes: Map<string, IdentifierType>;
  runId: string;
}

/** Collects problems while a row is read; required fields that fail reject the row. */
class RowReader {
  readonly problems: FieldProblem[] = [];
  private readonly values: Record<string, string>;
  private readonly ctx: EntityContext;
  constructor(values: Record<string, string>, ctx: EntityContext) {
    this.values = values;
    this.ctx = ctx;
  }
  text(field: string): string {
    return (this.values[field] ?? '').trim();
  }
  required(field: string): string {
    const value = this.text(field);
    if (!value) this.problems.push({ field, value, reason: 'required, but empty', action: 'row_rejected' });
    return value;
  }
  private parse<T>(field: string, required: boolean, parser: (raw: string) => T, fallback: T): T {
    const raw = this.text(field);
    if (!raw) {
      if (required) this.problems.push({ field, value: raw, reason: 'required, but empty', action: 'row_rejected' });
      return fallback;
    }
    try {
      return parser(raw);
    } catch (error) {
      this.problems.push({ field, value: raw, reason: (error as Error).message, action: required ? 'row_rejected' : 'value_dropped' });
      return fallback;
    }
  }
  time(field: string, required = false): string | null {
    return this.parse(field, required, (raw) => clickhouseTime(parseDateTime(raw, this.ctx.timeZone)), null);
  }
  money(field: string, required = false): number {
    return this.parse(field, required, parseMoney, 0);
  }
  /** A money value that must be given and not negative. */
  amount(field: string): number {
    const value = this.money(field, true);
    if (value < 0) this.problems.push({ field, value: String(value), reason: 'must not be negative', action: 'row_rejected' });
    return value;
  }
  count(field: string, fallback: number): number {
    return this.parse(field, false, parseCount, fallback);
  }
  birthday(field: string): string {
    return this.parse(field, false, parseBirthday, '');
  }
  /** Identifiers by canonical field name; masked phones become fuzzy evidence, bad values are dropped with a reason. */
  identifiers(): { identifiers: Array<[string, string]>; maskedPhone: string } {
    const identifiers: Array<[string, string]> = [];
    let maskedPhone = normaliseMaskedPhone(this.text('masked_phone')) ?? '';
    // The built-in identifier columns and any type the workspace declared (e.g. a loyalty card).
    const fields = new Set<string>([...IDENTIFIER_FIELDS, ...this.ctx.identifierTypes.keys()]);
    for (const field of fields) {
      for (const raw of splitMulti(this.text(field))) {
        if (field === 'phone' && (MASKED_PHONE.test(raw.replace(/[\s-]/g, '')) || raw.includes('*'))) {
          maskedPhone = normaliseMaskedPhone(raw) ?? maskedPhone;
          continue;
        }
        const type = this.ctx.identifierTypes.get(field);
        if (!type) continue;
        try {
          identifiers.push([field, normalise(type, raw)]);
        } catch (error) {
          this.problems.push({ field, value: raw, reason: (error as Error).message, action: 'value_dropped' });
        }
      }
    }
    return { identifiers, maskedPhone };
  }
  finish(): void {
    const rejected = this.problems.filter((p) => p.action === 'row_rejected');
    if (rejected.length > 0) throw new RowRejected(this.problems);
  }
}

function splitMulti(value: string): string[] {
  if (!value) return [];
  return value
    .split(/[;；、|]/)
    .map((v) => v.trim())
    .filter((v) => v.length > 0);
}

/** The first 64 bits of the SHA-1 of the value's JSON, as the decimal text of a UInt64. */
export function stableHash(value: unknown): string {
  return BigInt(`0x${crypto.hash('sha1', JSON.stringify(value)).slice(0, 16)}`).toString();
}

/** FNV-1a: a stable 32-bit line number from a line's own key. */
function lineNumber(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

const ORDER_STATUSES = new Set(['pending', 'paid', 'shipped', 'completed', 'cancelled', 'refunded']);

function cleanAddress(address: string): string {
  return address
    .replace(/\(\d{6}\)\s*$/, '')
    .replace(/\s+/g, ' ')
    .trim();
}

function packagePeriods(r: RowReader): number {
  const direct = r.count('package_periods', 0);
  if (direct > 0) return direct;
  const match = /周期购\s*(\d+)\s*期|(\d+)\s*期/.exec(r.text('package_text'));
  return match ? Number(match[1] ?? match[2]) : 0;
}

interface LineDraft {
  line_no: number;
  sku: string;
  product_name: string;
  category: string;
  quantity: number;
  unit_price: number;
  discount: number;
  amount: number;
  package_periods: number;
}

function readLine(r: RowReader, orderId: string, fallbackIndex: number): LineDraft | undefined {
  const sku = r.text('sku');
  const productName = r.text('product_name');
  if (!sku && !productName && !r.text('line_no')) return undefined;
  const quantity = r.count('quantity', 1);
  const unitPrice = r.money('unit_price');
  const discount = r.money('line_discount');
  const lineAmount = r.text('line_amount') ? r.money('line_amount') : Math.max(0, unitPrice * quantity - discount);
  const key = r.text('line_no') || sku || productName || String(fallbackIndex);
  return {
    line_no: lineNumber(`${orderId}#${key}`),
    sku,
    product_name: productName,
    category: r.text('category'),
    quantity,
    unit_price: unitPrice,
    discount,
    amount: lineAmount,
    package_periods: packagePeriods(r),
  };
}

/** An order from one or more rows (order_line shape: one row per line; order shape: one row). */
export function orderEntity(rows: Array<Record<string, string>>, shape: 'order' | 'order_line', ctx: EntityContext): Entity {
  const first = new RowReader(rows[0], ctx);
  const orderId = first.required('order_id');
  const orderedAt = first.time('ordered_at', true);
  const paidAt = first.time('paid_at');
  const postage = first.money('postage');
  const refunded = first.money('refunded');
  const { identifiers, maskedPhone } = first.identifiers();
  const lines: LineDraft[] = [];
  const readers = [first, ...rows.slice(1).map((v) => new RowReader(v, ctx))];
  if (shape === 'order_line') {
    readers.forEach((reader, index) => {
      const line = readLine(reader, orderId, index);
      if (line) lines.push(line);
    });
  }
  const lineTotal = lines.reduce((sum, l) => sum + l.amount, 0);
  const amount = first.text('amount') ? first.amount('amount') : lineTotal + postage;
  if (!first.text('amount') && lines.length === 0) first.required('amount');
  let status = first.text('status').toLowerCase();
  if (!ORDER_STATUSES.has(status)) status = status ? status : paidAt ? 'paid' : 'completed';
  // A closed order whose money came back is a refund, not a cancellation.
  if (status === 'cancelled' && refunded > 0 && refunded >= amount) status = 'refunded';
  const periods = Math.max(0, ...lines.map((l) => l.package_periods));
  const discount = first.text('discount') ? first.money('discount') : lines.reduce((s, l) => s + l.discount, 0);
  for (const reader of readers.slice(1)) first.problems.push(...reader.problems);
  first.finish();

  const owner = { source: ctx.source, kind: 'order' as const, record_id: orderId };
  const record: SourceRecord = {
    ...owner,
    identifiers,
    name: first.text('name'),
    masked_phone: maskedPhone,
    address: cleanAddress(first.text('address')),
    birthday: first.birthday('birthday'),
    attributes: {},
    seen_at: orderedAt!,
  };
  const order = {
    source: ctx.source,
    order_id: orderId,
    status,
    ordered_at: orderedAt,
    paid_at: paidAt,
    amount,
    discount,
    postage,
    refunded,
    item_count: lines.reduce((s, l) => s + l.quantity, 0),
    store_id: first.text('store_id'),
    store_name: first.text('store_name'),
    is_package: periods > 0 ? 1 : 0,
    package_periods: periods,
  };
  const facts: FactRow[] = [{ table: 'orders', key: orderId, owner, row: order }];
  for (const line of lines) {
    facts.push({ table: 'order_lines', key: `${orderId}#${line.line_no}`, owner, row: { source: ctx.source, order_id: orderId, ...line } });
  }
  return { record, facts, hash: stableHash([record, order, lines]), dropped: first.problems, rows: rows.length, ownsLines: shape === 'order_line' };
}

/** A line from an items report (Tmall 宝贝报表): its order comes from another file. */
function itemEntity(values: Record<string, string>, ctx: EntityContext): Entity {
  const r = new RowReader(values, ctx);
  const orderId = r.required('order_id');
  const line = readLine(r, orderId, 0);
  if (!line) r.required('product_name');
  r.finish();
  const row = { source: ctx.source, order_id: orderId, ...line! };
  return {
    facts: [{ table: 'order_lines', key: `${orderId}#${line!.line_no}`, owner: { source: ctx.source, kind: 'order', record_id: orderId }, row }],
    hash: stableHash(row),
    dropped: r.problems,
  };
}

function shipmentEntity(values: Record<string, string>, ctx: EntityContext): Entity {
  const r = new RowReader(values, ctx);
  const orderId = r.required('order_id');
  const period = r.count('period', 0);
  if (r.text('period') && period < 1) r.problems.push({ field: 'period', value: r.text('period'), reason: 'must be 1 or more', action: 'row_rejected' });
  r.required('period');
  const row = {
    source: ctx.source,
    order_id: orderId,
    period,
    periods: r.count('periods', 0),
    planned_at: r.time('planned_at'),
    shipped_at: r.time('shipped_at'),
    status: r.text('status') || (r.text('shipped_at') ? 'shipped' : 'planned'),
    tracking_no: r.text('tracking_no'),
  };
  r.finish();
  return {
    facts: [{ table: 'shipments', key: `${orderId}#${period}`, owner: { source: ctx.source, kind: 'order', record_id: orderId }, row }],
    hash: stableHash(row),
    dropped: r.problems,
  };
}

function refundEntity(values: Record<string, string>, ctx: EntityContext): Entity {
  const r = new RowReader(values, ctx);
  const refundId = r.required('refund_id');
  const orderId = r.required('order_id');
  const row = {
    source: ctx.source,
    refund_id: refundId,
    order_id: orderId,
    amount: r.amount('amount'),
    status: r.text('status'),
    reason: r.text('reason'),
    requested_at: r.time('requested_at'),
    completed_at: r.time('completed_at'),
  };
  r.finish();
  return {
    facts: [{ table: 'refunds', key: refundId, owner: { source: ctx.source, kind: 'order', record_id: orderId }, row }],
    hash: stableHash(row),
    dropped: r.problems,
  };
}

function memberEntity(values: Record<string, string>, ctx: EntityContext): Entity {
  const r = new RowReader(values, ctx);
  const memberNo = r.required('member_no');
  const { identifiers, maskedPhone } = r.identifiers();
  if (memberNo && !identifiers.some(([t]) => t === 'member_no')) identifiers.push(['member_no', memberNo]);
  const registered = r.time('registered_at');
  const attributes: Record<string, string> = {};
  for (const field of ['gender', 'level', 'points', 'city', 'channel']) if (r.text(field)) attributes[field] = r.text(field);
  if (registered) attributes.registered_at = registered;
  const record: SourceRecord = {
    source: ctx.source,
    kind: 'member',
    record_id: memberNo,
    identifiers,
    name: r.text('name'),
    masked_phone: maskedPhone,
    address: cleanAddress(r.text('address')),
    birthday: r.birthday('birthday'),
    attributes,
    seen_at: registered ?? clickhouseTime(Date.now()),
  };
  r.finish();
  return { record, facts: [], hash: stableHash({ ...record, seen_at: registered ?? '' }), dropped: r.problems };
}

function contactEntity(values: Record<string, string>, ctx: EntityContext): Entity {
  const r = new RowReader(values, ctx);
  const externalId = r.required('external_userid');
  const staff = r.required('staff_userid');
  const mobiles = splitMulti(r.text('remark_mobiles'));
  const identifiers: Array<[string, string]> = [['wecom_external_userid', externalId]];
  const unionid = r.text('unionid');
  if (unionid) identifiers.push(['unionid', unionid]);
  const phoneType = ctx.identifierTypes.get('phone');
  for (const mobile of mobiles) {
    try {
      if (phoneType) identifiers.push(['phone', normalise(phoneType, mobile)]);
    } catch (error) {
      r.problems.push({ field: 'remark_mobiles', value: mobile, reason: (error as Error).message, action: 'value_dropped' });
    }
  }
  const addedAt = r.time('added_at');
  const owner = { source: ctx.source, kind: 'contact' as const, record_id: externalId };
  const record: SourceRecord = {
    ...owner,
    identifiers: identifiers.filter((id, i, all) => all.findIndex((o) => o[0] === id[0] && o[1] === id[1]) === i),
    name: r.text('name'),
    masked_phone: '',
    address: '',
    birthday: '',
    attributes: {},
    seen_at: addedAt ?? clickhouseTime(Date.now()),
  };
  const contact = {
    external_userid: externalId,
    staff_userid: staff,
    staff_name: r.text('staff_name'),
    name: r.text('name'),
    remark: r.text('remark'),
    remark_mobiles: mobiles,
    tags: splitMulti(r.text('tags')),
    channel: r.text('channel'),
    description: r.text('description'),
    added_at: addedAt,
  };
  r.finish();
  return {
    record,
    facts: [{ table: 'contacts', key: `${externalId}#${staff}`, owner, row: contact }],
    hash: stableHash([{ ...record, seen_at: addedAt ?? '' }, contact]),
    dropped: r.problems,
  };
}

function recordEntity(values: Record<string, string>, ctx: EntityContext): Entity {
  const r = new RowReader(values, ctx);
  const recordId = r.required('record_id');
  const source = r.text('source') || ctx.source;
  if (!source) r.problems.push({ field: 'source', value: '', reason: 'required (or give --source)', action: 'row_rejected' });
  const { identifiers, maskedPhone } = r.identifiers();
  const record: SourceRecord = {
    source,
    kind: 'record',
    record_id: recordId,
    identifiers,
    name: r.text('name'),
    masked_phone: maskedPhone,
    address: cleanAddress(r.text('address')),
    birthday: r.birthday('birthday'),
    attributes: {},
    seen_at: clickhouseTime(Date.now()),
  };
  r.finish();
  return { record, facts: [], hash: stableHash({ ...record, seen_at: '' }), dropped: r.problems };
}

/** A catalogue row: a SKU's name, category, brand and list price (no person: it belongs to the brand). */
function productEntity(values: Record<string, string>, ctx: EntityContext): Entity {
  const r = new RowReader(values, ctx);
  const sku = r.required('sku');
  const row = {
    sku,
    product_name: r.text('product_name'),
    category: r.text('category'),
    brand: r.text('brand'),
    price: r.text('price') ? r.money('price') : 0,
  };
  r.finish();
  return {
    facts: [{ table: 'products', key: sku, owner: { source: ctx.source, kind: 'product', record_id: sku }, row }],
    hash: stableHash(row),
    dropped: r.problems,
  };
}

export function entityForShape(shape: RowShape): ((values: Record<string, string>, ctx: EntityContext) => Entity) | undefined {
  switch (shape) {
    case 'item':
      return itemEntity;
    case 'shipment':
      return shipmentEntity;
    case 'refund':
      return refundEntity;
    case 'member':
      return memberEntity;
    case 'contact':
      return contactEntity;
    case 'record':
      return recordEntity;
    case 'product':
      return productEntity;
    default:
      return undefined;
  }
}
