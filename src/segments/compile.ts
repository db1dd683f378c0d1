/**
 * A segment's tree as one parameterised ClickHouse query: `SELECT person_id` of everyone OneID knows
 * for whom the conditions hold. Each leaf is a set of people (`person_id IN (…)`), so groups are
 * AND/OR/NOT of sets. Every value is a bound parameter; column and table names come from fixed maps.
 */
import { EVERYONE, PURCHASE_LINES, PURCHASES } from '../facts/views.ts';
import { PROFILE, PROFILE_FIELDS } from '../facts/member-profile.ts';
import { VALUE_COLUMN, type ValueType } from '../facts/tag-values.ts';
import { compareValue } from '../facts/conditions.ts';
import { durationSeconds, type Condition, type EventSpec, type PropertyFilter, type Segment, type Window } from '../contract/segments.ts';
import { HORIZONS, LEVELS, SHARED_BIT } from './behaviour.ts';
import { dateInZone } from '../kernel/time.ts';
import { Binder } from '../facts/sql.ts';

export interface CompileContext {
  /** The day relative windows end on (YYYY-MM-DD, the workspace's today). */
  today: string;
  timeZone: string;
  workspaceId: string;
  /**
   * For each tag condition (key and as-of date): the run it reads, the tag's type, and whether the
   * run is kept as bitmaps per value; no run, no values.
   */
  tagRuns: Map<string, { runId?: string; type: ValueType; bitmaps?: boolean }>;
  /** Whether everyone is kept as a bitmap (then the tree is bitmap algebra). */
  everyoneBitmap?: boolean;
  /** The moment "has that time passed" is judged at (Unix seconds; default now). */
  now?: number;
  /** The segments the tree reads (and those they read). */
  segments: Map<string, Segment>;
  /** Estimates: only people whose hash falls in 1/`slice` of the space (the count is then scaled up). */
  slice?: number;
  /**
   * The behaviour index's last build: behaviour conditions read it for everyone but the people whose
   * events changed since its watermark, and the events themselves for those.
   */
  behaviour?: {
    watermark: string;
    changed: boolean;
    /** Each event type's bit in the index's masks (see behaviour.ts); none: sequences match every row. */
    bits?: Record<string, number>;
  };
}

export interface CompiledSegment {
  /** SELECT person_id of the members. */
  sql: string;
  params: Record<string, unknown>;
  /** When the tree is bitmap algebra: the members as one bitmap expression (count it with bitmapCardinality). */
  bitmap?: string;
}

/** What a condition selects, before it is rendered as a scan or as bitmap algebra. */
type Sets = { in: string } | { notIn: string } | { all: Sets[] } | { any: Sets[] } | { not: Sets } | { bitmap: string } | { predicate: string } | { always: boolean };

/** The people whose events changed since the behaviour index was built. */
const CHANGED = `(SELECT groupBitmapState(person_id) FROM event_changes WHERE workspace_id = {ws:String} AND logged_at >= {watermark:DateTime64(3, 'UTC')})`;
const EMPTY_BITMAP = 'bitmapBuild(emptyArrayUInt64())';

export const tagRunKey = (tag: string, asOf: string | undefined) => `${tag}@${asOf ?? ''}`;

class Compiler {
  readonly params: Record<string, unknown>;
  private readonly binder: Binder;
  private readonly ctx: CompileContext;
  private readonly stack: string[] = [];
  constructor(ctx: CompileContext, self?: string) {
    this.ctx = ctx;
    if (self) this.stack.push(self);
    this.params = { ws: ctx.workspaceId, tz: ctx.timeZone, today: ctx.today, base: ctx.today, now: ctx.now ?? Math.floor(Date.now() / 1000) };
    if (ctx.behaviour) this.params.watermark = ctx.behaviour.watermark;
    this.binder = new Binder('p', this.params);
  }

  bind(value: unknown, type: string): string {
    return this.binder.bind(value, type);
  }

  /** Days of a window as a condition on a `day` (Date) column. */
  window(window: Window, column = 'day'): string {
    if ('days' in window) return `${column} > subtractDays({today:Date}, ${this.bind(window.days, 'UInt32')}) AND ${column} <= {today:Date}`;
    return `${column} BETWEEN ${this.bind(window.from, 'Date')} AND ${this.bind(window.to, 'Date')}`;
  }

  /** A comparison of `column` (of `type`) with a condition's value (a number column takes numbers, or text that reads as one). */
  compare(column: string, type: ValueType, op: string, value: unknown): string {
    // Dates are kept as Date columns here; the shared comparison compares them as text.
    return compareValue(type === 'date' ? `toString(${column})` : column, type, op, value, (v, t) => this.bind(v, t));
  }

  /** The estimate's slice, as an extra condition on a person_id column. */
  slice(column = 'person_id'): string {
    return this.ctx.slice && this.ctx.slice > 1 ? ` AND cityHash64(${column}) % ${this.bind(this.ctx.slice, 'UInt32')} = 0` : '';
  }

  property(filter: PropertyFilter): string {
    const path = this.bind(filter.property, 'String');
    const numeric = typeof filter.value === 'number' || (Array.isArray(filter.value) && filter.value.every((v) => typeof v === 'number'));
    const text = `JSONExtractString(properties, ${path})`;
    const number = `JSONExtractFloat(properties, ${path})`;
    switch (filter.op) {
      case 'exists':
        return `JSONHas(properties, ${path})`;
      case 'contains':
        return `positionUTF8(${text}, ${this.bind(String(filter.value), 'String')}) > 0`;
      case 'in':
        return numeric ? `${number} IN ${this.bind(filter.value, 'Array(Float64)')}` : `${text} IN ${this.bind((filter.value as unknown[]).map(String), 'Array(String)')}`;
      default: {
        const op = { eq: '=', ne: '!=', gt: '>', gte: '>=', lt: '<', lte: '<=' }[filter.op];
        return numeric ? `${number} ${op} ${this.bind(filter.value, 'Float64')}` : `${text} ${op} ${this.bind(String(filter.value), 'String')}`;
      }
    }
  }

  eventMatch(spec: EventSpec): string {
    return [`event = ${this.bind(spec.event, 'String')}`, ...spec.where.map((f) => this.property(f))].join(' AND ');
  }

  /** Events as they stand; with the behaviour index, only those of the people changed since it was built. */
  events(where: string): string {
    const changed = this.ctx.behaviour ? ` AND person_id IN (SELECT arrayJoin(bitmapToArray(${CHANGED})))` : '';
    return `SELECT person_id, timestamp, toDate(timestamp, {tz:String}) AS day, event, properties FROM events FINAL WHERE workspace_id = {ws:String} AND person_id > 0${this.slice()}${changed} AND (${where})`;
  }

  /**
   * A behaviour condition's people: from the index (less the people changed since it was built) and,
   * for those, from the events themselves. Without an index, from the events alone.
   */
  behaviour(indexed: () => string, raw: string): Sets {
    if (!this.ctx.behaviour) return { in: raw };
    if (!this.ctx.behaviour.changed) return { bitmap: indexed() };
    return { any: [{ bitmap: `bitmapAndnot(${indexed()}, ${CHANGED})` }, { in: raw }] };
  }

  /**
   * The index's rows of one event in a window, as (person_id, ts) in person and time order; person
   * ids are 32-bit there (cast to 64 for the bitmaps every other set is).
   */
  indexRows(spec: EventSpec, window: Window, extra = ''): string {
    return `SELECT person_id, ts FROM behaviour_rows WHERE workspace_id = {ws:String} AND ${this.eventMatch(spec)} AND ${this.window(window)}${extra}`;
  }

  /**
   * People who did an event at least n times in a window, from the index: without property filters
   * and for n up to LEVELS, bitmap algebra over the days (the people with a running total of at least
   * j after each day, for j = 1…n); otherwise a count per person over the index's rows.
   */
  atLeast(c: Extract<Condition, { type: 'event' }>, n: number): string {
    const days = `FROM behaviour_days WHERE workspace_id = {ws:String} AND event = ${this.bind(c.event, 'String')} AND ${this.window(c.window)}`;
    if (c.where.length > 0 || n > LEVELS) {
      return `(SELECT groupBitmapState(toUInt64(person_id)) FROM (SELECT person_id FROM (${this.indexRows(c, c.window)}) GROUP BY person_id HAVING count() >= ${this.bind(n, 'UInt64')}))`;
    }
    if (n === 1) return `(SELECT groupBitmapMergeState(people) ${days} AND level = 1)`;
    const ks = Array.from({ length: n }, (_, i) => i + 1);
    // S_j after a day = S_j ∪ L_j ∪ ⋃_{k<j} (S_{j−k} ∩ L_k), where L_k: at least k times that day.
    const next = ks.map((j) => [`acc.${j}`, `l${j}`, ...ks.filter((k) => k < j).map((k) => `bitmapAnd(acc.${j - k}, l${k})`)].reduce((a, b) => `bitmapOr(${a}, ${b})`));
    const empty = ks.map(() => EMPTY_BITMAP).join(', ');
    return `(SELECT tupleElement(arrayFold((acc, ${ks.map((k) => `l${k}`).join(', ')}) -> (${next.join(', ')}), ${ks.map((k) => `d.${k}`).join(', ')}, (${empty})), ${n})
      FROM (SELECT (${ks.map((k) => `groupArray(l${k})`).join(', ')}) AS d FROM (SELECT day, ${ks.map((k) => `groupBitmapMergeStateIf(people, level = ${k}) AS l${k}`).join(', ')} ${days} AND level <= ${n} GROUP BY day)))`;
  }

  /**
   * "A, then B within W" from the index: each A matched with the first B at or after it, a merge of
   * two streams already in person and time order (no hash table of people). `absent`: A with no B
   * within W, once W has passed.
   */
  indexedSequence(c: Extract<Condition, { type: 'sequence' }>, within: string, seconds: number): string {
    return this.nearSequence(c, within, seconds) ?? `(${this.matchRows(c, within)})`;
  }

  /** The people of the A rows matched with the first B at or after each; `rows` narrows both sides. */
  private matchRows(c: Extract<Condition, { type: 'sequence' }>, within: string, rows: { a: string; b: string } = { a: '', b: '' }): string {
    const a = this.indexRows(c.first, c.window, `${c.absent ? ` AND ts + ${within} <= {now:UInt32}` : ''}${rows.a}`);
    const b = this.indexRows(c.then, c.window, rows.b);
    return `SELECT groupBitmapState(toUInt64(a.person_id)) AS people FROM (${a}) AS a ASOF ${c.absent ? 'LEFT' : 'INNER'} JOIN (${b}) AS b ON a.person_id = b.person_id AND b.ts >= a.ts
      WHERE ${c.absent ? `b.ts = 0 OR b.ts > a.ts + ${within}` : `b.ts <= a.ts + ${within}`} SETTINGS join_algorithm = 'full_sorting_merge'`;
  }

  /**
   * The same from what each A row has near it (H: the shortest horizon of at least W), when W is at
   * most a day and B has a bit of its own:
   * - an A row with no B within H has none within W: "not B" holds for it, "then B" does not;
   * - for W = H and no filter on B, an A row with a B within H has one within W — in the window too,
   *   when W from the A ends in it: the other way round.
   * Without filters, on the settled days (W has passed by now, and surely ended inside the window,
   * for every A of the day) that is a union of kept per-day bitmaps; otherwise, of the A rows
   * themselves. Only the rows the masks leave open are matched with B rows: those with a B near
   * when W < H or B is filtered, or when W from them ends past the window (none, for "not B" in a
   * window ending today).
   */
  private nearSequence(c: Extract<Condition, { type: 'sequence' }>, within: string, seconds: number): string | undefined {
    const bit = this.ctx.behaviour?.bits?.[c.then.event];
    const horizon = (Object.keys(HORIZONS).map(Number) as Array<keyof typeof HORIZONS>).find((h) => seconds <= h);
    if (bit === undefined || bit === SHARED_BIT || horizon === undefined) return undefined;
    const b = this.bind(bit, 'UInt8');
    const near = `bitTest(${HORIZONS[horizon]}, ${b})`;
    const relative = 'days' in c.window;
    const end = 'days' in c.window ? '{today:Date}' : this.bind(c.window.to, 'Date');
    const now = this.params.now as number;
    // The day W before now (worked out here: as a bound date it costs ClickHouse no time-zone work per query).
    const lastSettled = this.bind(this.dateAt(now - seconds), 'Date');
    // W from an A of day d ends by the end of day d + 2 (d + 1 may be 23 hours long, at a clock change).
    const settled = `day < ${lastSettled} AND day < subtractDays(${end}, 1)`;
    const endsInside = `toDate(toDateTime(ts + ${within}), {tz:String}) <= ${end}`;
    // A B near settles an A row only when any B will do and W is the horizon.
    const decides = seconds === horizon && c.then.where.length === 0;
    const bitmaps = decides && c.first.where.length === 0;
    // The A rows read (all in the window without the bitmaps); written out, not NOT settled, so the weeks before are not read.
    const read = bitmaps ? ` AND (day >= ${lastSettled} OR day >= subtractDays(${end}, 1))` : '';
    const parts: string[] = [];
    if (bitmaps) {
      parts.push(
        `SELECT people FROM behaviour_near WHERE workspace_id = {ws:String} AND event = ${this.bind(c.first.event, 'String')} AND horizon = ${this.bind(horizon, 'UInt32')} AND ${this.window(c.window)} AND ${settled} AND ${c.absent ? 'NOT ' : ''}bitTest(mask, ${b})`,
      );
    }
    const rows = (where: string) => `SELECT groupBitmapState(toUInt64(person_id)) AS people FROM (${this.indexRows(c.first, c.window, where)})`;
    if (c.absent) parts.push(rows(`${read} AND ts + ${within} <= {now:UInt32} AND NOT ${near}`));
    else if (decides) parts.push(rows(`${read} AND ${near} AND ${endsInside}`));
    // "Not B" with ts + W ≤ now ends by today: in a window ending today, no row is left open.
    if (!(decides && c.absent && relative && this.dateAt(now) <= this.ctx.today)) {
      parts.push(this.matchRows(c, within, { a: ` AND ${near}${decides ? `${read} AND NOT ${endsInside}` : ''}`, b: decides ? read : '' }));
    }
    return `(SELECT groupBitmapMergeState(people) FROM (${parts.map((p) => `SELECT people FROM (${p})`).join(' UNION ALL ')}))`;
  }

  /** The day (YYYY-MM-DD, the workspace's zone) of a moment (Unix seconds). */
  private dateAt(seconds: number): string {
    return dateInZone(this.ctx.timeZone, 0, seconds * 1000);
  }

  /**
   * A condition as sets of people: `in`/`notIn` a query of person ids, combinations of those, a
   * tag value's kept bitmap, a per-person predicate, or always/never. Rendered either as a WHERE
   * over everyone (scan) or as bitmap algebra.
   */
  sets(c: Condition): Sets {
    switch (c.type) {
      case 'group':
        return c.match === 'all' ? { all: c.conditions.map((x) => this.sets(x)) } : { any: c.conditions.map((x) => this.sets(x)) };
      case 'not':
        return { not: this.sets(c.condition) };
      case 'tag': {
        const run = this.ctx.tagRuns.get(tagRunKey(c.tag, c.asOf));
        if (!run?.runId) return { always: c.op === 'missing' };
        const kept = this.tagBitmap(c, run);
        if (kept) return kept;
        const rows = `SELECT person_id FROM tag_values WHERE workspace_id = {ws:String} AND tag = ${this.bind(c.tag, 'String')} AND run_id = ${this.bind(run.runId, 'String')}${this.slice()}`;
        if (c.op === 'exists') return { in: rows };
        if (c.op === 'missing') return { notIn: rows };
        return { in: `${rows} AND ${this.compare(VALUE_COLUMN[run.type], run.type, c.op, c.value)}` };
      }
      case 'profile': {
        const column = `pf_${c.field}`;
        const type = PROFILE_FIELDS[c.field];
        const rows = `SELECT person_id FROM ${PROFILE} WHERE ${column} IS NOT NULL AND toString(${column}) != ''${this.slice()}`;
        if (c.op === 'exists') return { in: rows };
        if (c.op === 'missing') return { notIn: rows };
        return { in: `${rows} AND ${this.compare(`assumeNotNull(${column})`, type, c.op, c.value)}` };
      }
      case 'identifier':
        return { in: `SELECT person_id FROM person_identities FINAL WHERE workspace_id = {ws:String} AND type = ${this.bind(c.identifierType, 'String')}${this.slice()}` };
      case 'event': {
        // At least min (default 1) and at most max times. "At most" includes people who never did it.
        const matching = this.events(`${this.eventMatch(c)} AND ${this.window(c.window, `toDate(timestamp, {tz:String})`)}`);
        const atLeast = (n: number) =>
          this.behaviour(() => this.atLeast(c, n), `SELECT person_id FROM (${matching}) GROUP BY person_id HAVING count() >= ${this.bind(n, 'UInt64')}`);
        const parts: Sets[] = [];
        if ((c.count.min ?? 0) > 0) parts.push(atLeast(c.count.min!));
        if (c.count.max !== undefined) parts.push({ not: atLeast(c.count.max + 1) });
        return parts.length ? { all: parts } : { always: true };
      }
      case 'sequence': {
        const within = this.bind(durationSeconds(c.within), 'UInt32');
        const first = this.eventMatch(c.first);
        const then = this.eventMatch(c.then);
        const rows = this.events(`((${first}) OR (${then})) AND ${this.window(c.window, `toDate(timestamp, {tz:String})`)}`);
        const perPerson = `SELECT person_id, groupArrayIf(toUnixTimestamp(timestamp), ${first}) AS a, groupArrayIf(toUnixTimestamp(timestamp), ${then}) AS b FROM (${rows}) GROUP BY person_id`;
        const followed = `arrayExists(u -> u >= t AND u <= t + ${within}, b)`;
        // A, then B at or after it and no later than `within` after it; or (absent) A and no such B —
        // once that time has passed (so a pending one is not counted).
        const holds = c.absent ? `arrayExists(t -> t + ${within} <= {now:UInt32} AND NOT ${followed}, a)` : `arrayExists(t -> ${followed}, a)`;
        return this.behaviour(() => this.indexedSequence(c, within, durationSeconds(c.within)), `SELECT person_id FROM (${perPerson}) WHERE ${holds}`);
      }
      case 'orders': {
        const lines = Boolean(c.skus || c.categories);
        const where: string[] = ['1'];
        if (c.window) where.push(this.window(c.window));
        if (c.sources) where.push(`source IN ${this.bind(c.sources, 'Array(String)')}`);
        if (c.skus) where.push(`sku IN ${this.bind(c.skus, 'Array(String)')}`);
        if (c.categories) where.push(`category IN ${this.bind(c.categories, 'Array(String)')}`);
        // Orders (not lines) are counted; the amount is what was spent on the matching lines (or orders).
        const per = `SELECT person_id, uniqExact(source, order_id) AS orders, sum(amount) AS spent FROM ${lines ? PURCHASE_LINES : PURCHASES} WHERE ${where.join(' AND ')}${this.slice()} GROUP BY person_id`;
        const having: string[] = [];
        if (c.count.min !== undefined && c.count.min > 0) having.push(`orders >= ${this.bind(c.count.min, 'UInt64')}`);
        if (c.count.max !== undefined) having.push(`orders <= ${this.bind(c.count.max, 'UInt64')}`);
        if (c.amount?.min !== undefined) having.push(`spent >= ${this.bind(c.amount.min, 'Float64')}`);
        if (c.amount?.max !== undefined) having.push(`spent <= ${this.bind(c.amount.max, 'Float64')}`);
        const inside: Sets = { in: `SELECT person_id FROM (${per}) WHERE ${having.length ? having.join(' AND ') : '1'}` };
        // "No more than N" includes those who bought nothing that matches.
        if ((c.count.min ?? 0) === 0 && c.amount?.min === undefined) return { any: [inside, { notIn: `SELECT person_id FROM (${per})` }] };
        return inside;
      }
      case 'segment': {
        const other = this.ctx.segments.get(c.segment);
        if (!other) throw new Error(`segment "${c.segment}" does not exist`);
        if (this.stack.includes(c.segment)) throw new Error(`segments read each other in a cycle: ${[...this.stack, c.segment].join(' → ')}`);
        this.stack.push(c.segment);
        const inner = this.sets({ type: 'group', match: other.match, conditions: other.conditions });
        this.stack.pop();
        return inner;
      }
      case 'list':
        return {
          in: `SELECT pi.person_id FROM (
            SELECT identifier_type, identifier FROM segment_lists WHERE workspace_id = {ws:String} AND segment = ${this.bind(c.list, 'String')}
              AND batch = (SELECT max(batch) FROM segment_lists WHERE workspace_id = {ws:String} AND segment = ${this.bind(c.list, 'String')})
          ) AS l INNER JOIN (SELECT type, value, person_id FROM person_identities FINAL WHERE workspace_id = {ws:String}) AS pi
          ON l.identifier_type = pi.type AND l.identifier = pi.value`,
        };
      case 'sample':
        // Deterministic per person (and salt): the same people fall in a 10% split every time.
        return { predicate: `cityHash64(person_id, ${this.bind(c.salt, 'String')}) % 10000 < ${this.bind(Math.round(c.percent * 100), 'UInt32')}` };
    }
  }

  /** A tag condition over a run kept as bitmaps per value (text, boolean, date, list), when it is. */
  private tagBitmap(c: Extract<Condition, { type: 'tag' }>, run: { runId?: string; type: ValueType; bitmaps?: boolean }): Sets | undefined {
    // Numbers are not kept as bitmaps (ranges scan their values); estimates scan a slice.
    if (!run.runId || !run.bitmaps || run.type === 'number' || this.ctx.slice) return undefined;
    const values = (where: string) =>
      `(SELECT groupBitmapMergeState(people) FROM tag_bitmaps WHERE workspace_id = {ws:String} AND tag = ${this.bind(c.tag, 'String')} AND run_id = ${this.bind(run.runId, 'String')}${where})`;
    const text = (v: unknown) => (run.type === 'boolean' ? String(v === true || v === 'true' || v === 1) : String(v));
    switch (c.op) {
      case 'exists':
        return { bitmap: values('') };
      case 'missing':
        return { not: { bitmap: values('') } };
      case 'eq':
        return { bitmap: values(` AND value = ${this.bind(text(c.value), 'String')}`) };
      case 'in':
        return { bitmap: values(` AND value IN ${this.bind((c.value as unknown[]).map(text), 'Array(String)')}`) };
      case 'ne':
        return { all: [{ bitmap: values('') }, { not: { bitmap: values(` AND value = ${this.bind(text(c.value), 'String')}`) } }] };
      default:
        // Ranges over text or dates compare the values themselves: the bitmaps of the values in range.
        if (run.type === 'string_list') return undefined;
        return {
          bitmap: values(` AND ${this.compare('value', run.type === 'date' ? 'date' : 'string', c.op, c.op === 'between' ? (c.value as unknown[]).map(text) : text(c.value))}`),
        };
    }
  }

  /** Sets as a condition on person_id, for a scan over everyone. */
  scan(s: Sets): string {
    if ('in' in s) return `person_id IN (${s.in})`;
    if ('notIn' in s) return `person_id NOT IN (${s.notIn})`;
    if ('all' in s) return `(${s.all.map((x) => this.scan(x)).join(' AND ')})`;
    if ('any' in s) return `(${s.any.map((x) => this.scan(x)).join(' OR ')})`;
    if ('not' in s) return `(NOT ${this.scan(s.not)})`;
    // A scalar subquery: the bitmap is made once, not once per block of rows.
    if ('bitmap' in s) return `bitmapContains((SELECT ${s.bitmap}), person_id)`;
    if ('predicate' in s) return s.predicate;
    return s.always ? '1' : '0';
  }

  /** Sets as bitmap algebra over everyone's bitmap: only the sets themselves are read, never everyone's rows. */
  bitmapOf(s: Sets): string {
    const everyone = `(SELECT people FROM people_bitmaps FINAL WHERE workspace_id = {ws:String} ORDER BY computed_at DESC LIMIT 1)`;
    const of = (rows: string) => `(SELECT groupBitmapState(toUInt64(person_id)) FROM (${rows}))`;
    if ('in' in s) return of(s.in);
    if ('notIn' in s) return `bitmapAndnot(${everyone}, ${of(s.notIn)})`;
    if ('all' in s) return s.all.map((x) => this.bitmapOf(x)).reduce((a, b) => `bitmapAnd(${a}, ${b})`);
    if ('any' in s) return s.any.map((x) => this.bitmapOf(x)).reduce((a, b) => `bitmapOr(${a}, ${b})`);
    if ('not' in s) return `bitmapAndnot(${everyone}, ${this.bitmapOf(s.not)})`;
    if ('bitmap' in s) return s.bitmap;
    if ('predicate' in s) return of(`SELECT person_id FROM (SELECT arrayJoin(bitmapToArray(${everyone})) AS person_id) WHERE ${s.predicate}`);
    return s.always ? everyone : `bitmapAndnot(${everyone}, ${everyone})`;
  }

  root(segment: Pick<Segment, 'match' | 'conditions'>): string {
    const predicate = this.scan(this.sets({ type: 'group', match: segment.match, conditions: segment.conditions }));
    return `SELECT person_id FROM ${EVERYONE} AS everyone\nWHERE ${predicate}${this.slice()}`;
  }
}

/**
 * The query of a segment's members (person_id), with its parameters. With everyone kept as a bitmap
 * (after a whole tag run) the tree is bitmap algebra over the sets its leaves read; otherwise — and
 * for estimates, which read a slice — it is a scan over everyone.
 */
export function compileSegment(segment: Pick<Segment, 'match' | 'conditions'> & { key?: string }, ctx: CompileContext): CompiledSegment {
  const compiler = new Compiler(ctx, segment.key);
  const tree: Condition = { type: 'group', match: segment.match, conditions: segment.conditions };
  if (ctx.everyoneBitmap && !ctx.slice) {
    const bitmap = compiler.bitmapOf(compiler.sets(tree));
    return { sql: `SELECT arrayJoin(bitmapToArray(${bitmap})) AS person_id`, params: compiler.params, bitmap };
  }
  return { sql: compiler.root(segment), params: compiler.params };
}
