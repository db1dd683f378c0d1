/**
 * Who is inside a segment: the distribution of chosen tags inside it against the whole base
 * (everyone OneID knows), and a cross matrix of two tags.
 */
import type { Stores } from '../stores/stores.ts';
import { NotFoundError } from '../kernel/errors.ts';
import { EVERYONE } from '../facts/views.ts';
import { VALUE_COLUMN, type ValueType } from '../facts/tag-values.ts';
import { getTag, valueRun } from '../tags/store.ts';
import { bitmapValue } from '../tags/engine.ts';
import { valueTypeOf } from '../tags/definition.ts';
import { compileFor, type SegmentTree, type Viewer } from './segments.ts';
import { peopleScopeSql } from '../access/scope.ts';


async function tagInput(stores: Stores, workspaceId: string, key: string) {
  const tag = await getTag(stores, workspaceId, key);
  const run = await valueRun(stores, workspaceId, key);
  if (!run) throw new NotFoundError(`tag "${key}" has no values yet: run it first`);
  return { tag, type: valueTypeOf(tag), run };
}

export async function segmentInsights(stores: Stores, workspaceId: string, tree: SegmentTree, tagKeys: string[], top = 10) {
  const compiled = await compileFor(stores, workspaceId, tree);
  // The base is everyone the viewer may see.
  const scope = peopleScopeSql(tree.viewer ?? {});
  const { sql } = compiled;
  const params = { ...compiled.params, ...scope.params };
  const [sizes] = await stores.facts.query<{ inside: string; base: string }>(
    `SELECT countIf(person_id IN (${sql})) AS inside, count() AS base FROM ${EVERYONE} AS everyone WHERE ${scope.sql}`,
    params,
  );
  const inside = Number(sizes.inside);
  const base = Number(sizes.base);
  const tags = [];
  for (const key of tagKeys) {
    const { tag, type, run } = await tagInput(stores, workspaceId, key);
    const bound = { ...params, ins_tag: key, ins_run: run.runId, ins_top: top };
    // The value column is ours (by the tag's type); the tree's SQL carries bound parameters only.
    const values = (column: string) =>
      `SELECT person_id, ${column} AS value, person_id IN (${sql}) AS inside FROM tag_values WHERE workspace_id = {ws:String} AND tag = {ins_tag:String} AND run_id = {ins_run:String} AND ${scope.sql}`;
    if (type === 'number') {
      const [row] = await stores.facts.query<Record<string, number | string>>(
        `SELECT countIf(inside) AS people_inside, count() AS people_base, avgIf(value, inside) AS avg_inside, avg(value) AS avg_base,
                quantileExactIf(0.5)(value, inside) AS median_inside, quantileExact(0.5)(value) AS median_base
         FROM (${values(VALUE_COLUMN.number)})`,
        bound,
      );
      tags.push({ key, name: tag.name, type, baseDate: run.baseDate, summary: Object.fromEntries(Object.entries(row).map(([k, v]) => [k, Number(v)])) });
      continue;
    }
    const rows = await stores.facts.query<{ value: string; inside: string; base: string }>(
      `SELECT value, countIf(inside) AS inside, count() AS base FROM (${values(bitmapValue(type))})
       GROUP BY value ORDER BY inside DESC, base DESC, value LIMIT {ins_top:UInt32}`,
      bound,
    );
    tags.push({
      key,
      name: tag.name,
      type,
      baseDate: run.baseDate,
      values: rows.map((r) => {
        const shareInside = inside ? Number(r.inside) / inside : 0;
        const shareBase = base ? Number(r.base) / base : 0;
        // Lift: how much more common the value is inside than in the whole base.
        return { value: r.value, inside: Number(r.inside), shareInside, base: Number(r.base), shareBase, lift: shareBase ? shareInside / shareBase : null };
      }),
    });
  }
  return { people: inside, base, share: base ? inside / base : 0, tags };
}

/** People per pair of values of two tags, inside a segment (or the whole base without one). */
export async function crossMatrix(stores: Stores, workspaceId: string, tree: SegmentTree | undefined, rowKey: string, columnKey: string, top = 12, viewer: Viewer = tree?.viewer ?? {}) {
  const row = await tagInput(stores, workspaceId, rowKey);
  const column = await tagInput(stores, workspaceId, columnKey);
  for (const t of [row, column]) if (t.type === 'number' || t.type === 'string_list') throw new NotFoundError(`tag "${t.tag.key}" is a ${t.type}; a cross matrix takes text, boolean or date tags`);
  const scope = peopleScopeSql(viewer);
  const compiled = tree ? await compileFor(stores, workspaceId, { ...tree, viewer }) : { sql: '', params: { ws: workspaceId } };
  const filter = tree ? `AND person_id IN (${compiled.sql})` : `AND ${scope.sql}`;
  const side = (run: string, type: ValueType) => `SELECT person_id, ${bitmapValue(type)} AS value FROM tag_values WHERE workspace_id = {ws:String} AND run_id = {${run}:String} ${filter}`;
  const cells = await stores.facts.query<{ r: string; c: string; people: string }>(
    `SELECT a.value AS r, b.value AS c, count() AS people FROM (${side('row_run', row.type)}) AS a INNER JOIN (${side('col_run', column.type)}) AS b ON a.person_id = b.person_id
     GROUP BY r, c ORDER BY r, c`,
    { ...compiled.params, ...scope.params, row_run: row.run.runId, col_run: column.run.runId },
  );
  const totals = (pick: (c: (typeof cells)[number]) => string) => {
    const t = new Map<string, number>();
    for (const c of cells) t.set(pick(c), (t.get(pick(c)) ?? 0) + Number(c.people));
    return [...t].sort((a, b) => b[1] - a[1]).slice(0, top).map(([value]) => value);
  };
  const rows = totals((c) => c.r);
  const columns = totals((c) => c.c);
  const lookup = new Map(cells.map((c) => [`${c.r}\u0000${c.c}`, Number(c.people)]));
  return {
    row: { key: rowKey, name: row.tag.name },
    column: { key: columnKey, name: column.tag.name },
    columns,
    rows: rows.map((r) => ({ value: r, cells: columns.map((c) => lookup.get(`${r}\u0000${c}`) ?? 0) })),
  };
}
