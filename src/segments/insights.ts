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
import { membersSql, type SegmentTree, type Viewer } from './segments.ts';
import { peopleScope } from '../access/scope.ts';
import { sql, type SqlFragment } from '../facts/sql.ts';

async function read<Row>(stores: Stores, fragment: SqlFragment): Promise<Row[]> {
  const { query, params } = fragment.toQuery();
  return stores.facts.query<Row>(query, params);
}

async function tagInput(stores: Stores, workspaceId: string, key: string) {
  const tag = await getTag(stores, workspaceId, key);
  const run = await valueRun(stores, workspaceId, key);
  if (!run) throw new NotFoundError(`tag "${key}" has no values yet: run it first`);
  return { tag, type: valueTypeOf(tag), run };
}

export async function segmentInsights(stores: Stores, workspaceId: string, tree: SegmentTree, tagKeys: string[], top = 10) {
  const members = await membersSql(stores, workspaceId, tree);
  // The base is everyone the viewer may see.
  const scope = peopleScope(tree.viewer ?? {}, workspaceId);
  const [sizes] = await read<{ inside: string; base: string }>(
    stores,
    sql`SELECT countIf(person_id IN (${members})) AS inside, count() AS base FROM ${sql.raw(EVERYONE, { ws: workspaceId })} AS everyone WHERE ${scope}`,
  );
  const inside = Number(sizes.inside);
  const base = Number(sizes.base);
  const tags = [];
  for (const key of tagKeys) {
    const { tag, type, run } = await tagInput(stores, workspaceId, key);
    // The value column is ours (by the tag's type); the tree's SQL carries bound parameters only.
    const values = (column: string) =>
      sql`SELECT person_id, ${sql.raw(column)} AS value, person_id IN (${members}) AS inside FROM tag_values WHERE workspace_id = ${workspaceId} AND tag = ${key} AND run_id = ${run.runId} AND ${scope}`;
    if (type === 'number') {
      const [row] = await read<Record<string, number | string>>(
        stores,
        sql`SELECT countIf(inside) AS people_inside, count() AS people_base, avgIf(value, inside) AS avg_inside, avg(value) AS avg_base,
                quantileExactIf(0.5)(value, inside) AS median_inside, quantileExact(0.5)(value) AS median_base
         FROM (${values(VALUE_COLUMN.number)})`,
      );
      tags.push({
        key,
        name: tag.name,
        type,
        baseDate: run.baseDate,
        summary: Object.fromEntries(Object.entries(row).map(([k, v]) => [k, Number.isNaN(Number(v)) ? null : Number(v)])),
      });
      continue;
    }
    const rows = await read<{ value: string; inside: string; base: string }>(
      stores,
      sql`SELECT value, countIf(inside) AS inside, count() AS base FROM (${values(bitmapValue(type))})
       GROUP BY value ORDER BY inside DESC, base DESC, value LIMIT ${sql.param(top, 'UInt32')}`,
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
export async function crossMatrix(
  stores: Stores,
  workspaceId: string,
  tree: SegmentTree | undefined,
  rowKey: string,
  columnKey: string,
  top = 12,
  viewer: Viewer = tree?.viewer ?? {},
) {
  const row = await tagInput(stores, workspaceId, rowKey);
  const column = await tagInput(stores, workspaceId, columnKey);
  for (const t of [row, column])
    if (t.type === 'number' || t.type === 'string_list') throw new NotFoundError(`tag "${t.tag.key}" is a ${t.type}; a cross matrix takes text, boolean or date tags`);
  const filter = tree ? sql`AND person_id IN (${await membersSql(stores, workspaceId, { ...tree, viewer })})` : sql`AND ${peopleScope(viewer, workspaceId)}`;
  // The value expression is ours, by the tag's type.
  const side = (run: string, type: ValueType) =>
    sql`SELECT person_id, ${sql.raw(bitmapValue(type))} AS value FROM tag_values WHERE workspace_id = ${workspaceId} AND run_id = ${run} ${filter}`;
  const cells = await read<{ r: string; c: string; people: string }>(
    stores,
    sql`SELECT a.value AS r, b.value AS c, count() AS people FROM (${side(row.run.runId, row.type)}) AS a INNER JOIN (${side(column.run.runId, column.type)}) AS b ON a.person_id = b.person_id
     GROUP BY r, c ORDER BY r, c`,
  );
  const totals = (pick: (c: (typeof cells)[number]) => string) => {
    const t = new Map<string, number>();
    for (const c of cells) t.set(pick(c), (t.get(pick(c)) ?? 0) + Number(c.people));
    return [...t]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([value]) => value);
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
