/**
 * A plan's goal as SQL: every conversion (person, time, revenue) — an order, optionally only its lines
 * of some SKUs or categories, or a tracked event. The report and the "converted lately" exclusion
 * read the same query.
 */
import { PURCHASE_LINES, PURCHASES } from '../facts/views.ts';
import type { Goal } from '../contract/plans.ts';

/** Far enough ahead that PURCHASES' base-date bound keeps every order. */
const NO_END = '2299-12-31';

export function conversionsSql(goal: Goal): { sql: string; params: Record<string, unknown> } {
  const params: Record<string, unknown> = { base: NO_END };
  if (goal.kind === 'event') {
    params.goal_event = goal.event;
    return {
      sql: `SELECT person_id, timestamp AS at, toFloat64(0) AS revenue FROM events FINAL WHERE workspace_id = {ws:String} AND person_id > 0 AND event = {goal_event:String}`,
      params,
    };
  }
  if (goal.skus?.length || goal.categories?.length) {
    const filters: string[] = [];
    if (goal.skus?.length) {
      params.goal_skus = goal.skus;
      filters.push('sku IN {goal_skus:Array(String)}');
    }
    if (goal.categories?.length) {
      params.goal_categories = goal.categories;
      filters.push('category IN {goal_categories:Array(String)}');
    }
    return {
      sql: `SELECT person_id, min(at) AS at, sum(amount) AS revenue FROM ${PURCHASE_LINES} WHERE ${filters.join(' OR ')} GROUP BY person_id, source, order_id`,
      params,
    };
  }
  return { sql: `SELECT person_id, ordered_at AS at, amount AS revenue FROM ${PURCHASES}`, params };
}
