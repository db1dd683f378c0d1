/**
 * What each kind of tag computes, as one ClickHouse query per tag returning (person_id, value). All
 * values are bound parameters; the workspace, its time zone and the base date bound every query.
 */
import {
  RFM_GROUPS,
  statisticValueType,
  type Condition,
  type InlineStatistic,
  type SubscriptionTag,
  type TierTag,
  type WecomTag,
  type RuleTag,
  type CycleTag,
  type LifecycleTag,
  type PreferenceTag,
  type RfmTag,
  type StatisticTag,
  type TagDefinition,
} from './definition.ts';
import { EVERYONE, PURCHASE_LINES, PURCHASES } from '../facts/views.ts';
import { PROFILE, PROFILE_FIELDS } from '../facts/member-profile.ts';
import type { ValueType } from '../facts/tag-values.ts';
import { compareValue } from '../facts/conditions.ts';
import { Binder } from '../facts/sql.ts';

/**
 * What the queries read purchases from: the shared views, or a tag run's own tables of them made
 * once for its base date (engine.ts), with the purchase-cycle measures of a window when the run
 * has made them too.
 */
export interface PurchaseSources {
  purchases: string;
  lines: string;
  /** A table of cycleMeasures for this window (days, or 'all'). */
  cycles?: Map<string, string>;
}

const SHARED_VIEWS: PurchaseSources = { purchases: PURCHASES, lines: PURCHASE_LINES };

/** The key a window's cycle measures are kept under. */
export const cycleKey = (windowDays: number | undefined) => String(windowDays ?? 'all');

const EVENTS = `(
  SELECT person_id, event, timestamp, toDate(timestamp, {tz:String}) AS day
  FROM events FINAL
  WHERE workspace_id = {ws:String} AND person_id > 0 AND toDate(timestamp, {tz:String}) <= {base:Date}
)`;

export interface TagQuery {
  /** SELECT person_id, value … (the value aliased `value`). */
  sql: string;
  params: Record<string, unknown>;
}

/**
 * A statistic per person: `SELECT person_id, <value> AS v … GROUP BY person_id`. Its parameters are
 * named with `prefix`, so several can share one query.
 */
function statisticAggregate(tag: InlineStatistic, params: Record<string, unknown>, sources: PurchaseSources, prefix = ''): string {
  const where: string[] = [];
  if (tag.windowDays) {
    params[`${prefix}window`] = tag.windowDays;
    where.push(`day > subtractDays({base:Date}, {${prefix}window:UInt32})`);
  }
  if (tag.sources) {
    params[`${prefix}sources`] = tag.sources;
    where.push(`source IN {${prefix}sources:Array(String)}`);
  }
  if (tag.event) {
    params[`${prefix}event`] = tag.event;
    where.push(`event = {${prefix}event:String}`);
  }
  const time = tag.of === 'purchases' ? 'ordered_at' : 'timestamp';
  // The field is one of the fixed names the definition schema allows.
  const field = tag.field ?? '';
  const dateField = field === 'ordered_at' || field === 'timestamp';
  const value = (() => {
    switch (tag.measure) {
      case 'count':
        return 'toFloat64(count())';
      case 'share':
        return `countIf(${field} > 0) / count()`;
      case 'sum':
        return `sum(${field})`;
      case 'avg':
        return `avg(${field})`;
      case 'min':
        return dateField ? `toDate32(min(${field}), {tz:String})` : `min(${field})`;
      case 'max':
        return dateField ? `toDate32(max(${field}), {tz:String})` : `max(${field})`;
      case 'first':
        return dateField ? `toDate32(min(${field}), {tz:String})` : `argMin(${field}, ${time})`;
      case 'last':
        return dateField ? `toDate32(max(${field}), {tz:String})` : `argMax(${field}, ${time})`;
    }
  })();
  const source = tag.of === 'purchases' ? sources.purchases : EVENTS;
  return `SELECT person_id, ${value} AS v FROM ${source} ${where.length ? `WHERE ${where.join(' AND ')}` : ''} GROUP BY person_id`;
}

function statisticQuery(tag: StatisticTag, sources: PurchaseSources): TagQuery {
  const params: Record<string, unknown> = {};
  const inner = statisticAggregate(tag, params, sources);
  if (!tag.buckets) return { sql: `SELECT person_id, v AS value FROM (${inner})`, params };
  params.bucket_labels = tag.buckets.map((b) => b.label);
  params.bucket_from = tag.buckets.map((b) => b.from ?? -Number.MAX_SAFE_INTEGER);
  params.bucket_to = tag.buckets.map((b) => b.to ?? Number.MAX_SAFE_INTEGER);
  // The label of the first bucket the value falls in; a value in no bucket gets no label.
  const label = `arrayElement(arrayFilter((label, lo, hi) -> v >= lo AND v < hi, {bucket_labels:Array(String)}, {bucket_from:Array(Float64)}, {bucket_to:Array(Float64)}), 1)`;
  return { sql: `SELECT person_id, ${label} AS value FROM (${inner}) WHERE value != ''`, params };
}

/** Per dimension: where it comes from and the value ranked (names are this module's constants). */
const PREFERENCE_SOURCES: Record<PreferenceTag['dimension'], { lines: boolean; value: string }> = {
  category: { lines: true, value: 'category' },
  sku: { lines: true, value: 'sku' },
  product: { lines: true, value: 'product_name' },
  source: { lines: false, value: 'source' },
  store: { lines: false, value: 'store_id' },
  day_part: { lines: false, value: 'day_part' },
};

/** The part of the day a purchase time falls in, in the workspace's zone. */
const dayPart = (at: string) =>
  `multiIf(toHour(${at}, {tz:String}) < 6, 'night', toHour(${at}, {tz:String}) < 12, 'morning', toHour(${at}, {tz:String}) < 18, 'afternoon', 'evening')`;

/**
 * Each person's favourite values of a dimension, ranked by how often (or how much) they bought them;
 * ties go to the one bought last, then to the alphabetically first.
 */
function preferenceQuery(tag: PreferenceTag, sources: PurchaseSources): TagQuery {
  const params: Record<string, unknown> = { top: tag.top };
  const { lines, value } = PREFERENCE_SOURCES[tag.dimension];
  const window = tag.windowDays ? 'AND p.day > subtractDays({base:Date}, {window:UInt32})' : '';
  if (tag.windowDays) params.window = tag.windowDays;
  const rows = lines
    ? `SELECT p.person_id AS person_id, p.${value} AS item, p.amount AS amount, p.at AS at FROM ${sources.lines} AS p WHERE item != '' ${window}`
    : `SELECT p.person_id AS person_id, ${value === 'day_part' ? dayPart('p.ordered_at') : value} AS item, p.amount AS amount, p.ordered_at AS at
       FROM ${sources.purchases} AS p WHERE ${value === 'store_id' || value === 'source' ? `p.${value} != ''` : '1'} ${window}`;
  const score = tag.by === 'amount' ? 'sum(amount)' : 'toFloat64(count())';
  const ranked = `SELECT person_id, arraySlice(arrayMap(x -> x.1, arraySort(x -> (-x.2, -toUnixTimestamp64Milli(x.3), x.1), groupArray((item, score, last)))), 1, {top:UInt32}) AS favourites
    FROM (SELECT person_id, item, ${score} AS score, max(at) AS last FROM (${rows}) GROUP BY person_id, item)
    GROUP BY person_id`;
  return { sql: `SELECT person_id, ${tag.top === 1 ? 'favourites[1]' : 'favourites'} AS value FROM (${ranked})`, params };
}

/**
 * RFM over the buyers of the window: recency (days from the last purchase to the base date), frequency
 * (purchases) and monetary value (net spend). Scores are 1…bins, higher is better (a recent buyer
 * scores high on R); the group compares each measure with the buyers' mean or median.
 */
function rfmQuery(tag: RfmTag, sources: PurchaseSources): TagQuery {
  const params: Record<string, unknown> = { window: tag.windowDays, groups_keys: Object.keys(RFM_GROUPS), groups_names: Object.values(RFM_GROUPS) };
  const measures = `SELECT person_id, toFloat64(dateDiff('day', max(day), {base:Date})) AS recency, toFloat64(count()) AS frequency, sum(amount) AS monetary
    FROM ${sources.purchases} WHERE day > subtractDays({base:Date}, {window:UInt32}) GROUP BY person_id`;
  let scores: string;
  if (tag.scoring.method === 'quantiles') {
    params.bins = tag.scoring.bins;
    // Ranks split into equal groups; ties share the better rank, so equal measures score the same.
    const score = (measure: string, better: 'low' | 'high') =>
      `toFloat64(1 + intDiv((rank() OVER (ORDER BY ${measure} ${better === 'low' ? 'DESC' : 'ASC'}) - 1) * {bins:UInt32}, count() OVER ()))`;
    scores = `SELECT *, ${score('recency', 'low')} AS r_score, ${score('frequency', 'high')} AS f_score, ${score('monetary', 'high')} AS m_score FROM (${measures})`;
  } else {
    params.cut_r = tag.scoring.recencyDays;
    params.cut_f = tag.scoring.frequency;
    params.cut_m = tag.scoring.monetary;
    // With n ascending cut points a measure scores 1…n+1: past every recency cut scores 1, past every frequency or spend cut n+1.
    scores = `SELECT *,
        toFloat64(1 + length({cut_r:Array(Float64)}) - arrayCount(c -> recency >= c, {cut_r:Array(Float64)})) AS r_score,
        toFloat64(1 + arrayCount(c -> frequency >= c, {cut_f:Array(Float64)})) AS f_score,
        toFloat64(1 + arrayCount(c -> monetary >= c, {cut_m:Array(Float64)})) AS m_score
      FROM (${measures})`;
  }
  const centre = (measure: string) => (tag.groupSplit === 'median' ? `median(${measure}) OVER ()` : `avg(${measure}) OVER ()`);
  const group = `transform(concat(toString(recency < ${centre('recency')}), toString(frequency > ${centre('frequency')}), toString(monetary > ${centre('monetary')})),
      {groups_keys:Array(String)}, {groups_names:Array(String)}, '')`;
  const value = tag.output === 'group' ? group : tag.output === 'score' ? 'r_score + f_score + m_score' : tag.output;
  return { sql: `SELECT person_id, ${value} AS value FROM (${scores})`, params };
}

/**
 * Each buyer's purchase cycle: the median of the days between purchase days (two or more), else the
 * median of every buyer's intervals; the day they are due again (after their last purchase by one
 * cycle, and never before a weekly package they bought runs out); how long since they bought; and
 * how many purchase days they have.
 */
export function cycleMeasures(windowDays: number | undefined, params: Record<string, unknown>, sources: PurchaseSources = SHARED_VIEWS): string {
  const window = windowDays ? 'AND day > subtractDays({base:Date}, {window:UInt32})' : '';
  if (windowDays) params.window = windowDays;
  const days = `SELECT person_id, day, max(package_periods) AS periods FROM ${sources.purchases} WHERE 1 ${window} GROUP BY person_id, day`;
  const perPerson = `SELECT person_id, arraySort(groupArray(day)) AS days, count() AS purchases,
      argMax(if(periods > 0, addDays(day, 7 * periods), toDate('1970-01-01')), day) AS covered_until,
      arrayMap(i -> toFloat64(dateDiff('day', days[i - 1], days[i])), arrayEnumerate(days)) AS gaps_with_first,
      arrayPopFront(gaps_with_first) AS gaps
    FROM (${days}) GROUP BY person_id`;
  return `SELECT person_id, purchases, days[-1] AS last_day, covered_until, gaps,
      if(length(gaps) > 0, arrayReduce('quantileExactInclusive(0.5)', gaps), NULL) AS own_cycle,
      (SELECT if(count() = 0, NULL, quantileExactInclusive(0.5)(g)) FROM (SELECT arrayJoin(gaps) AS g FROM (${perPerson}))) AS everyone_cycle,
      ifNull(own_cycle, everyone_cycle) AS cycle,
      toFloat64(dateDiff('day', last_day, {base:Date})) AS since_last,
      greatest(addDays(last_day, toInt32(round(ifNull(cycle, 0)))), covered_until) AS next_due
    FROM (${perPerson})`;
}

/** A window's cycle measures: the run's table of them when it has one, else the query. */
function cycleSource(windowDays: number | undefined, params: Record<string, unknown>, sources: PurchaseSources): string {
  return sources.cycles?.get(cycleKey(windowDays)) ?? `(${cycleMeasures(windowDays, params, sources)})`;
}

function cycleQuery(tag: CycleTag, sources: PurchaseSources): TagQuery {
  const params: Record<string, unknown> = {};
  const measures = cycleSource(tag.windowDays, params, sources);
  const value = { cycle_days: 'own_cycle', next_due: 'toDate32(next_due)', days_since_last: 'since_last' }[tag.output];
  const who = { cycle_days: 'own_cycle IS NOT NULL', next_due: 'cycle IS NOT NULL OR covered_until > last_day', days_since_last: '1' }[tag.output];
  return { sql: `SELECT person_id, ${value} AS value FROM ${measures} WHERE ${who}`, params };
}

/**
 * Lifecycle stage relative to each person's own cycle: while not overdue, 新客 (one purchase), 成长
 * (up to `growingMax`) or 成熟; once overdue, 衰退, 沉睡 and 流失 as the days since the last purchase
 * pass 1×, `dormantAfter`× and `churnedAfter`× the cycle. A running weekly package is never overdue.
 */
function lifecycleQuery(tag: LifecycleTag, sources: PurchaseSources): TagQuery {
  const params: Record<string, unknown> = { growing: tag.growingMax, dormant: tag.dormantAfter, churned: tag.churnedAfter };
  const measures = cycleSource(tag.windowDays, params, sources);
  const stage = `multiIf(
      {base:Date} <= next_due, multiIf(purchases <= 1, '新客', purchases <= {growing:UInt32}, '成长', '成熟'),
      since_last <= cycle * {dormant:Float64}, '衰退',
      since_last <= cycle * {churned:Float64}, '沉睡',
      '流失')`;
  return { sql: `SELECT person_id, ${stage} AS value FROM ${measures} WHERE cycle IS NOT NULL OR covered_until > last_day`, params };
}

export function tagQuery(tag: TagDefinition, inputs: Map<string, RuleInput> = new Map(), sources: PurchaseSources = SHARED_VIEWS): TagQuery {
  switch (tag.kind) {
    case 'statistic':
      return statisticQuery(tag, sources);
    case 'preference':
      return preferenceQuery(tag, sources);
    case 'rfm':
      return rfmQuery(tag, sources);
    case 'purchase_cycle':
      return cycleQuery(tag, sources);
    case 'lifecycle':
      return lifecycleQuery(tag, sources);
    case 'model':
      throw new Error('model tags are fitted and predicted by the engine (model-tags.ts), not by one query');
    case 'rule':
      return ruleQuery(tag, inputs, sources);
    case 'subscription':
      return subscriptionQuery(tag, sources);
    case 'wecom':
      return wecomQuery(tag);
    case 'tier':
      return tierQuery(tag, inputs);
    case 'profile': {
      // The column is pf_<field>, a field the schema allows; dates are kept as Date32.
      const column = `pf_${tag.field}`;
      const value = PROFILE_FIELDS[tag.field] === 'date' ? `toDate32(${column})` : column;
      return { sql: `SELECT person_id, ${value} AS value FROM ${PROFILE} WHERE ${column} IS NOT NULL AND toString(${column}) != ''`, params: {} };
    }
    case 'sql':
      throw new Error('SQL tags are checked and sandboxed by sql-tags.ts');
    case 'imported':
      throw new Error('imported tags match their file to people in imported-tags.ts');
    case 'manual':
      throw new Error('manual tags publish the values staff set (store.ts), not a query');
  }
}

/** A tag another reads: the run whose values it reads (none yet: every condition on it is false) and its type. */
export interface RuleInput {
  runId?: string;
  type: ValueType;
}

/**
 * A rule over everyone OneID knows: the tags it reads pivoted into columns, the profile fields and
 * the inline statistics joined per person, then the first case whose condition holds gives the
 * value. Every literal is a bound parameter; every column name comes from fixed maps.
 */
function ruleQuery(tag: RuleTag, inputs: Map<string, RuleInput>, sources: PurchaseSources = SHARED_VIEWS): TagQuery {
  const keys = [...inputs.keys()];
  const params: Record<string, unknown> = { rule_runs: [...inputs.values()].flatMap((i) => (i.runId ? [i.runId] : [])) };
  const columns = keys.map((key, i) => {
    params[`k${i}`] = key;
    const on = `tag = {k${i}:String}`;
    return `countIf(${on}) > 0 AS has${i}, anyIf(v_number, ${on}) AS n${i}, anyIf(v_string, ${on}) AS s${i}, anyIf(v_bool, ${on}) AS b${i},
            toString(anyIf(v_date, ${on})) AS d${i}, anyIf(v_list, ${on}) AS l${i}`;
  });
  const statistics: InlineStatistic[] = [];
  let usesProfile = false;
  const binder = new Binder('lit', params);
  const bind = (value: unknown, type: string) => binder.bind(value, type);
  /** `has` says whether the person has the operand; `column` holds it, of `type` (dates as text). */
  const compare = (has: string, column: string, type: ValueType, condition: { op: string; value?: unknown }): string => {
    if (condition.op === 'exists') return has;
    if (condition.op === 'missing') return `(NOT ${has})`;
    return `(${has} AND ${compareValue(column, type, condition.op, condition.value, bind)})`;
  };
  const compile = (condition: Condition): string => {
    switch (condition.type) {
      case 'group':
        return `(${condition.conditions.map(compile).join(condition.match === 'all' ? ' AND ' : ' OR ')})`;
      case 'not':
        return `(NOT ${compile(condition.condition)})`;
      case 'profile': {
        usesProfile = true;
        const type = PROFILE_FIELDS[condition.field];
        const column = `pf_${condition.field}`;
        return compare(`(${column} IS NOT NULL AND toString(${column}) != '')`, `assumeNotNull(${column})`, type, condition);
      }
      case 'statistic': {
        const j = statistics.push(condition.statistic) - 1;
        const type = statisticValueType(condition.statistic);
        return compare(`st_has${j}`, type === 'date' ? `toString(st_v${j})` : `st_v${j}`, type, condition);
      }
      case 'tag': {
        const i = keys.indexOf(condition.tag);
        const type = inputs.get(condition.tag)!.type;
        const column = `${{ number: 'n', string: 's', boolean: 'b', date: 'd', string_list: 'l' }[type]}${i}`;
        return compare(`has${i}`, column, type, condition);
      }
    }
  };
  const valueType = tag.valueType === 'number' ? 'Float64' : tag.valueType === 'boolean' ? 'UInt8' : 'String';
  const out = (v: string | number | boolean) => bind(typeof v === 'boolean' ? (v ? 1 : 0) : v, valueType);
  const branches = tag.cases.flatMap((c) => [compile(c.when), out(c.value)]);
  const otherwise = tag.else === undefined ? 'NULL' : out(tag.else);
  const joins: string[] = [];
  if (keys.length > 0) {
    joins.push(`LEFT JOIN (SELECT person_id, ${columns.join(',\n')} FROM tag_values
      WHERE workspace_id = {ws:String} AND run_id IN {rule_runs:Array(String)} GROUP BY person_id) AS tv USING person_id`);
  }
  if (usesProfile) joins.push(`LEFT JOIN ${PROFILE} AS pf USING person_id`);
  statistics.forEach((statistic, j) => {
    joins.push(`LEFT JOIN (SELECT person_id, v AS st_v${j}, 1 AS st_has${j} FROM (${statisticAggregate(statistic, params, sources, `st${j}_`)})) AS st${j} USING person_id`);
  });
  // Nullable profile columns stay NULL when missing; the join fills the others with defaults (has… = 0).
  const people = `SELECT person_id, multiIf(${branches.join(', ')}, ${otherwise}) AS value FROM ${EVERYONE} AS everyone ${joins.join('\n')}`;
  return { sql: `SELECT person_id, value FROM (${people}) WHERE value IS NOT NULL`, params };
}

/**
 * Subscription packages per person: each package purchase with its shipments up to the base date
 * (shipped ones, and whether the next due is paused); without shipment rows, one a week since the
 * order. Status over all packages: active if any has shipments to come and is not paused, else
 * paused if any is, else ended.
 */
function subscriptionQuery(tag: SubscriptionTag, sources: PurchaseSources): TagQuery {
  const shipments = `SELECT source, order_id,
        countIf(shipped_at IS NOT NULL AND toDate(assumeNotNull(shipped_at), {tz:String}) <= {base:Date}) AS shipped,
        argMinIf(status, period, shipped_at IS NULL OR toDate(assumeNotNull(shipped_at), {tz:String}) > {base:Date}) AS next_status,
        count() AS rows
      FROM shipments FINAL WHERE workspace_id = {ws:String} GROUP BY source, order_id`;
  const packages = `SELECT p.person_id AS person_id, toInt64(p.package_periods) AS periods,
        if(s.rows > 0, toInt64(s.shipped), least(periods, intDiv(dateDiff('day', p.day, {base:Date}), 7) + 1)) AS done,
        greatest(periods - done, 0) AS remaining,
        remaining > 0 AND match(s.next_status, '(?i)pause|暂停') AS paused
      FROM ${sources.purchases} AS p LEFT JOIN (${shipments}) AS s ON p.source = s.source AND p.order_id = s.order_id
      WHERE p.package_periods > 0`;
  const value =
    tag.output === 'remaining_shipments' ? 'toFloat64(sum(remaining))' : `multiIf(countIf(remaining > 0 AND NOT paused) > 0, 'active', countIf(paused) > 0, 'paused', 'ended')`;
  return { sql: `SELECT person_id, ${value} AS value FROM (${packages}) GROUP BY person_id`, params: {} };
}

/** The WeCom relationship from contacts added up to the base date (deleted contacts are gone). */
function wecomQuery(tag: WecomTag): TagQuery {
  const contacts = `SELECT person_id, count() AS owners, min(added) AS first_added, argMin(owner, added) AS first_owner FROM (
      SELECT person_id, staff_userid, if(staff_name != '', staff_name, staff_userid) AS owner, ifNull(toDate(added_at, {tz:String}), toDate('1970-01-01')) AS added
      FROM contacts FINAL WHERE workspace_id = {ws:String} AND person_id > 0 AND (added_at IS NULL OR toDate(assumeNotNull(added_at), {tz:String}) <= {base:Date})
    ) GROUP BY person_id`;
  switch (tag.output) {
    case 'has_owner':
      return { sql: `SELECT e.person_id AS person_id, c.owners > 0 AS value FROM ${EVERYONE} AS e LEFT JOIN (${contacts}) AS c USING person_id`, params: {} };
    case 'owner_count':
      return { sql: `SELECT person_id, toFloat64(owners) AS value FROM (${contacts})`, params: {} };
    case 'owner':
      return { sql: `SELECT person_id, first_owner AS value FROM (${contacts})`, params: {} };
    case 'days_since_added':
      return { sql: `SELECT person_id, toFloat64(dateDiff('day', first_added, {base:Date})) AS value FROM (${contacts}) WHERE first_added > toDate('1970-01-01')`, params: {} };
  }
}

/** Tiers over another tag's numbers: by rank from the highest (shares) or by minimums. */
function tierQuery(tag: TierTag, inputs: Map<string, RuleInput>): TagQuery {
  const input = inputs.get(tag.of);
  if (input?.type !== 'number') throw new Error(`tiers read a numeric tag; "${tag.of}" is ${input ? `a ${input.type}` : 'missing'}`);
  const params: Record<string, unknown> = { of_run: input.runId ?? '', of: tag.of, labels: tag.tiers.map((t) => t.label) };
  const values = `SELECT person_id, v_number AS v FROM tag_values WHERE workspace_id = {ws:String} AND tag = {of:String} AND run_id = {of_run:String}`;
  if (tag.method === 'quantiles') {
    let cumulative = 0;
    // The share of people ranked above each tier's end; the last tier takes everyone left.
    params.ends = tag.tiers.map((t, i) => (i === tag.tiers.length - 1 ? 2 : (cumulative += t.share ?? 0)));
    const rank = `(rank() OVER (ORDER BY v DESC) - 1) / count() OVER ()`;
    return {
      sql: `SELECT person_id, {labels:Array(String)}[arrayFirstIndex(e -> position < e, {ends:Array(Float64)})] AS value FROM (SELECT person_id, ${rank} AS position FROM (${values}))`,
      params,
    };
  }
  // The first tier whose minimum the value reaches; the last tier takes the rest.
  params.mins = tag.tiers.slice(0, -1).map((t) => t.min ?? 0);
  return {
    sql: `SELECT person_id, {labels:Array(String)}[if(arrayFirstIndex(m -> v >= m, {mins:Array(Float64)}) AS i = 0, length({labels:Array(String)}), i)] AS value FROM (${values})`,
    params,
  };
}
