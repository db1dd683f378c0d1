/**
 * The console's overview: people, buyers, orders, GMV and repurchase rate over a window, the
 * lifecycle distribution, the RFM matrix (recency × frequency score) and a daily trend, all within
 * the caller's data scope.
 */
import type { Stores } from '../stores/stores.ts';
import { WorkspaceService } from '../access/workspaces.ts';
import type { AuthenticatedKey } from '../access/keys.ts';
import { EVERYONE } from '../facts/views.ts';
import { bitmapValue } from '../tags/engine.ts';
import { dateInZone } from '../kernel/time.ts';
import { listTags, valueRun } from '../tags/store.ts';
import { valueTypeOf } from '../tags/definition.ts';
import { peopleScope, sourceScope } from '../access/scope.ts';
import { sql, type SqlFragment } from '../facts/sql.ts';

export async function overview(stores: Stores, caller: AuthenticatedKey, days = 90) {
  const ws = caller.workspaceId;
  const workspace = await new WorkspaceService(stores.state).get(ws);
  const to = dateInZone(workspace.timeZone);
  const from = dateInZone(workspace.timeZone, days - 1);
  const people = peopleScope(caller, ws);
  const sources = sourceScope(caller);
  const named = sql.with({ ws, tz: workspace.timeZone, from, to });
  const read = <Row>(fragment: SqlFragment) => {
    const { query, params } = fragment.toQuery();
    return stores.facts.query<Row>(query, params);
  };
  // Purchases as tags count them: paid orders, less refunds; a package order is one purchase.
  const purchases = named`SELECT person_id, toDate(ordered_at, {tz:String}) AS day, toFloat64(amount - refunded) AS amount FROM orders FINAL
    WHERE workspace_id = {ws:String} AND person_id > 0 AND status NOT IN ('cancelled', 'pending') AND NOT (status = 'refunded' AND refunded >= amount)
      AND toDate(ordered_at, {tz:String}) BETWEEN {from:Date} AND {to:Date} AND ${people} AND ${sources}`;
  const [[base], [totals], trend] = await Promise.all([
    read<{ people: string }>(named`SELECT count() AS people FROM ${sql.raw(EVERYONE, { ws })} AS everyone WHERE ${people}`),
    read<{ buyers: string; repeaters: string; orders: string; gmv: number }>(
      named`SELECT count() AS buyers, countIf(n >= 2) AS repeaters, sum(n) AS orders, sum(spent) AS gmv
       FROM (SELECT person_id, count() AS n, sum(amount) AS spent FROM (${purchases}) GROUP BY person_id)`,
    ),
    read<{ day: string; orders: string; gmv: number; buyers: string }>(
      named`SELECT toString(d) AS day, orders, gmv, buyers FROM (
         SELECT day AS d, count() AS orders, sum(amount) AS gmv, uniqExact(person_id) AS buyers FROM (${purchases})
         GROUP BY d ORDER BY d WITH FILL FROM {from:Date} TO addDays({to:Date}, 1)
       )`,
    ),
  ]);
  const buyers = Number(totals.buyers);
  const tags = await listTags(stores, ws);
  const lifecycleTag = tags.find((t) => t.kind === 'lifecycle');
  const rfmTag = (output: string) => tags.find((t) => t.kind === 'rfm' && 'output' in t && t.output === output);
  const recency = rfmTag('r_score');
  const frequency = rfmTag('f_score');

  let lifecycle: Array<{ value: string; people: number }> = [];
  const lifecycleRun = lifecycleTag ? await valueRun(stores, ws, lifecycleTag.key) : undefined;
  if (lifecycleTag && lifecycleRun) {
    // The value expression is ours, by the tag's type.
    const rows = await read<{ value: string; people: string }>(
      sql`SELECT ${sql.raw(bitmapValue(valueTypeOf(lifecycleTag)))} AS value, count() AS people FROM tag_values
       WHERE workspace_id = ${ws} AND tag = ${lifecycleTag.key} AND run_id = ${lifecycleRun.runId} AND ${people}
       GROUP BY value ORDER BY people DESC`,
    );
    lifecycle = rows.map((r) => ({ value: r.value, people: Number(r.people) }));
  }

  let rfm: { r: string[]; f: string[]; cells: number[][] } | null = null;
  const [rRun, fRun] = recency && frequency ? await Promise.all([valueRun(stores, ws, recency.key), valueRun(stores, ws, frequency.key)]) : [];
  if (rRun && fRun) {
    // Scores are numbers (1 … 5): people per (R, F) pair.
    const cells = await read<{ r: string; f: string; people: string }>(
      sql`SELECT toString(r.v_number) AS r, toString(f.v_number) AS f, count() AS people
       FROM (SELECT person_id, v_number FROM tag_values WHERE workspace_id = ${ws} AND run_id = ${rRun.runId} AND ${people}) AS r
       INNER JOIN (SELECT person_id, v_number FROM tag_values WHERE workspace_id = ${ws} AND run_id = ${fRun.runId}) AS f ON r.person_id = f.person_id
       GROUP BY r, f`,
    );
    const axis = (pick: (c: (typeof cells)[number]) => string) => [...new Set(cells.map(pick))].sort((a, b) => Number(a) - Number(b));
    const r = axis((c) => c.r);
    const f = axis((c) => c.f);
    const count = new Map(cells.map((c) => [`${c.r}\u0000${c.f}`, Number(c.people)]));
    rfm = { r, f, cells: r.map((rv) => f.map((fv) => count.get(`${rv}\u0000${fv}`) ?? 0)) };
  }

  return {
    asOf: to,
    from,
    days,
    people: Number(base.people),
    buyers,
    orders: Number(totals.orders),
    gmv: Math.round(Number(totals.gmv) * 100) / 100,
    repurchaseRate: buyers ? Number(totals.repeaters) / buyers : 0,
    lifecycle,
    rfm,
    trend: trend.map((t) => ({ day: t.day, orders: Number(t.orders), gmv: Math.round(Number(t.gmv) * 100) / 100, buyers: Number(t.buyers) })),
  };
}
