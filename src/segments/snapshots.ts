/**
 * Snapshots: a segment's membership materialised at a moment (people in the facts store, the
 * snapshot's time, trigger and size in the state store), the last N kept per segment, and who
 * joined and who left between two of them. Segments that ask for it snapshot after every whole tag
 * run — daily with a daily tag schedule, so relative dates move on each day.
 */
import crypto from 'node:crypto';
import type { Stores } from '../stores/stores.ts';
import { NotFoundError } from '../kernel/errors.ts';
import { onTagRunsFinished } from '../tags/engine.ts';
import { compileFor, getSegment, listSegments, type Viewer } from './segments.ts';
import { peopleScope } from '../access/scope.ts';
import { sql } from '../facts/sql.ts';
import type { Snapshot as SnapshotInfo } from '../contract/segments.ts';

const dateText = (d: Date | string) => (typeof d === 'string' ? d.slice(0, 10) : d.toISOString().slice(0, 10));

export async function takeSnapshot(stores: Stores, workspaceId: string, key: string, trigger: 'manual' | 'tags' | 'schedule' = 'manual'): Promise<SnapshotInfo> {
  const segment = await getSegment(stores, workspaceId, key);
  const { sql, params } = await compileFor(stores, workspaceId, segment);
  const id = `snap_${crypto.randomBytes(8).toString('hex')}`;
  await stores.facts.command(
    `INSERT INTO segment_members (workspace_id, segment, snapshot_id, person_id) SELECT {ws:String}, {segment:String}, {snapshot:String}, person_id FROM (${sql})`,
    { ...params, segment: key, snapshot: id },
  );
  const [{ n }] = await stores.facts.query<{ n: string }>(
    `SELECT count() AS n FROM segment_members WHERE workspace_id = {ws:String} AND segment = {segment:String} AND snapshot_id = {snapshot:String}`,
    { ws: workspaceId, segment: key, snapshot: id },
  );
  const evaluatedFor = String(params.today);
  await stores.state.db
    .insertInto('segment_snapshots')
    .values({ id, workspace_id: workspaceId, segment_key: key, trigger, people: Number(n), evaluated_for: evaluatedFor })
    .execute();
  // Keep the last N: older snapshots and their members go.
  const old = await stores.state.db
    .selectFrom('segment_snapshots')
    .select('id')
    .where('workspace_id', '=', workspaceId)
    .where('segment_key', '=', key)
    .orderBy('taken_at', 'desc')
    .orderBy('id', 'desc')
    .offset(segment.snapshots.keep)
    .limit(10_000)
    .execute();
  if (old.length > 0) {
    const ids = old.map((o) => o.id);
    await stores.state.db.deleteFrom('segment_snapshots').where('id', 'in', ids).execute();
    await stores.facts.command(`ALTER TABLE segment_members DELETE WHERE workspace_id = {ws:String} AND segment = {segment:String} AND snapshot_id IN {ids:Array(String)}`, {
      ws: workspaceId,
      segment: key,
      ids,
    });
  }
  return { id, segment: key, trigger, people: Number(n), evaluatedFor, takenAt: new Date().toISOString() };
}

export async function listSnapshots(stores: Stores, workspaceId: string, key: string): Promise<SnapshotInfo[]> {
  const rows = await stores.state.db
    .selectFrom('segment_snapshots')
    .selectAll()
    .where('workspace_id', '=', workspaceId)
    .where('segment_key', '=', key)
    .orderBy('taken_at', 'desc')
    .orderBy('id', 'desc')
    .execute();
  return rows.map((r) => ({
    id: r.id,
    segment: r.segment_key,
    trigger: r.trigger,
    people: Number(r.people),
    evaluatedFor: dateText(r.evaluated_for),
    takenAt: new Date(r.taken_at).toISOString(),
  }));
}

/** Who joined and who left between two snapshots of a segment (by default the last two). */
export async function diffSnapshots(stores: Stores, workspaceId: string, key: string, options: { from?: string; to?: string; sample?: number; viewer?: Viewer } = {}) {
  const snapshots = await listSnapshots(stores, workspaceId, key);
  const to = options.to ?? snapshots[0]?.id;
  const from = options.from ?? snapshots[1]?.id;
  if (!to || !from) throw new NotFoundError(`segment "${key}" needs two snapshots to compare (it has ${snapshots.length})`);
  for (const id of [from, to]) if (!snapshots.some((s) => s.id === id)) throw new NotFoundError(`no snapshot "${id}" of segment "${key}"`);
  // Snapshots keep every member; a scoped viewer counts and sees only the members in scope.
  const scope = peopleScope(options.viewer ?? {}, workspaceId);
  const members = (snapshot: string) => sql`SELECT person_id FROM segment_members WHERE workspace_id = ${workspaceId} AND segment = ${key} AND snapshot_id = ${snapshot}`;
  const side = async (inside: string, outside: string) => {
    const { query, params } =
      sql`SELECT count() AS n, arraySlice(groupArray(person_id), 1, ${sql.param(options.sample ?? 20, 'UInt32')}) AS sample FROM (${members(inside)}) WHERE person_id NOT IN (${members(outside)}) AND ${scope}`.toQuery();
    const rows = await stores.facts.query<{ n: string; sample: string[] }>(query, params);
    return { people: Number(rows[0].n), sample: rows[0].sample.map(Number) };
  };
  return { segment: key, from, to, joined: await side(to, from), left: await side(from, to) };
}

/** After a whole tag run: every segment of the workspace that follows tag runs takes a snapshot. */
onTagRunsFinished(async (stores, workspaceId) => {
  for (const segment of await listSegments(stores, workspaceId)) {
    if (segment.snapshots.afterTagRuns) await takeSnapshot(stores, workspaceId, segment.key, 'tags');
  }
});
