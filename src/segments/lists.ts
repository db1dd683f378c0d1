/**
 * Segments from and to files. Import: a file of identifiers of any type becomes a segment of the
 * people they belong to (matched through OneID whenever it is counted); rows that do not normalise
 * or match nobody are reported. Export: a segment's members as identifiers of a chosen type.
 */
import fs from 'node:fs';
import crypto from 'node:crypto';
import type { Stores } from '../stores/stores.ts';
import { loadIdentifierTypes } from '../identity/identifier-store.ts';
import { normalise } from '../identity/identifier-types.ts';
import { readRows, sniffFile } from '../ingest/file-reader.ts';
import { ConflictError } from '../kernel/errors.ts';
import { getSegment, membersSql, saveSegment, type Viewer } from './segments.ts';
import { identitySourcesScope } from '../access/scope.ts';
import { sql } from '../facts/sql.ts';
import { csvRows } from '../kernel/csv.ts';
import type { ListImportReport } from '../contract/segments.ts';

/**
 * Imports a file (a header row, then one identifier per row in the first column) as segment `key`
 * (created if new; its list replaced if it is a list segment already).
 */
export async function importSegmentList(
  stores: Stores,
  workspaceId: string,
  input: { key: string; name: { zh: string; en: string }; identifierType: string; file: string },
): Promise<ListImportReport> {
  const type = (await loadIdentifierTypes(stores.state, workspaceId)).get(input.identifierType);
  if (!type) throw new ConflictError(`identifier type "${input.identifierType}" is not declared in this workspace`);
  const existing = await getSegment(stores, workspaceId, input.key).catch(() => undefined);
  if (existing && !(existing.conditions.length === 1 && existing.conditions[0].type === 'list' && existing.conditions[0].list === input.key)) {
    throw new ConflictError(`segment "${input.key}" exists and is not an imported list`);
  }
  const batch = Date.now();
  const report: ListImportReport = { segment: input.key, rowsRead: 0, accepted: 0, rejected: [], rejectedCount: 0, unmatched: 0, people: 0 };
  let rows: Array<Record<string, unknown>> = [];
  const flush = async () => {
    if (rows.length) await stores.facts.insertRows('segment_lists', rows);
    rows = [];
  };
  let header = true;
  for await (const row of readRows(sniffFile(input.file))) {
    if (header) {
      header = false;
      continue;
    }
    report.rowsRead++;
    const raw = row.values[0] ?? '';
    try {
      rows.push({ workspace_id: workspaceId, segment: input.key, batch, identifier_type: input.identifierType, identifier: normalise(type, raw) });
      report.accepted++;
    } catch (error) {
      report.rejectedCount++;
      if (report.rejected.length < 1000) report.rejected.push({ row: row.rowNumber, value: raw, expected: `a ${input.identifierType} (${(error as Error).message})` });
    }
    if (rows.length >= 50_000) await flush();
  }
  await flush();
  await stores.facts.command(`ALTER TABLE segment_lists DELETE WHERE workspace_id = {ws:String} AND segment = {segment:String} AND batch < {batch:UInt64}`, {
    ws: workspaceId,
    segment: input.key,
    batch,
  });
  if (!existing) await saveSegment(stores, workspaceId, { key: input.key, name: input.name, conditions: [{ type: 'list', list: input.key }] });
  const [counts] = await stores.facts.query<{ unmatched: string; people: string }>(
    `SELECT countIf(pi.person_id = 0) AS unmatched, uniqExactIf(pi.person_id, pi.person_id > 0) AS people FROM (
       SELECT DISTINCT identifier FROM segment_lists WHERE workspace_id = {ws:String} AND segment = {segment:String} AND batch = {batch:UInt64}
     ) AS l LEFT JOIN (SELECT value, person_id FROM person_identities FINAL WHERE workspace_id = {ws:String} AND type = {type:String}) AS pi ON l.identifier = pi.value`,
    { ws: workspaceId, segment: input.key, batch, type: input.identifierType },
  );
  report.unmatched = Number(counts.unmatched);
  report.people = Number(counts.people);
  return report;
}

/**
 * A segment's members as identifiers of one type (a person with several gives several rows), as CSV.
 * The members are fixed first (a snapshot of the export's own), then read a page at a time: other
 * queries may run between pages, and the export still sees one membership.
 */
export async function exportSegment(
  stores: Stores,
  workspaceId: string,
  key: string,
  identifierType: string,
  out: NodeJS.WritableStream,
  viewer?: Viewer,
): Promise<{ people: number; rows: number }> {
  const segment = await getSegment(stores, workspaceId, key);
  const members = await membersSql(stores, workspaceId, { ...segment, viewer });
  const snapshot = `export_${crypto.randomBytes(8).toString('hex')}`;
  // A team exports only identifiers its own sources brought.
  const sources = identitySourcesScope(viewer ?? {}, 'pi.sources');
  const bound = { ws: workspaceId, segment: key, snapshot, type: identifierType };
  const fix = sql.with(
    bound,
  )`INSERT INTO segment_members (workspace_id, segment, snapshot_id, person_id) SELECT {ws:String}, {segment:String}, {snapshot:String}, person_id FROM (${members})`.toQuery();
  await stores.facts.command(fix.query, fix.params);
  try {
    out.write(csvRows([['person_id', identifierType]]));
    let rows = 0;
    let people = 0;
    let after = 0;
    for (;;) {
      // Whole people per page: the page ends at a person id, the next starts after it.
      const pageQuery = sql.with({ ...bound, after })`SELECT person_id, groupArray(value) AS values FROM (
           SELECT pi.person_id AS person_id, pi.value AS value FROM person_identities AS pi FINAL
           WHERE pi.workspace_id = {ws:String} AND pi.type = {type:String} AND pi.person_id > {after:UInt64}
             AND ${sources}
             AND pi.person_id IN (SELECT person_id FROM segment_members WHERE workspace_id = {ws:String} AND segment = {segment:String} AND snapshot_id = {snapshot:String})
           ORDER BY person_id, value
         ) GROUP BY person_id ORDER BY person_id LIMIT 20000`.toQuery();
      const page = await stores.facts.query<{ person_id: string; values: string[] }>(pageQuery.query, pageQuery.params);
      if (page.length === 0) break;
      const text = csvRows(page.flatMap((r) => r.values.map((value) => [r.person_id, value])));
      for (const r of page) rows += r.values.length;
      people += page.length;
      after = Number(page[page.length - 1].person_id);
      if (!out.write(text)) await new Promise((resolve) => out.once('drain', resolve));
    }
    return { people, rows };
  } finally {
    await stores.facts.command(`ALTER TABLE segment_members DELETE WHERE workspace_id = {ws:String} AND segment = {segment:String} AND snapshot_id = {snapshot:String}`, bound);
  }
}

export function exportToFile(stores: Stores, workspaceId: string, key: string, identifierType: string, file: string) {
  const stream = fs.createWriteStream(file);
  return exportSegment(stores, workspaceId, key, identifierType, stream).finally(() => new Promise((resolve) => stream.end(resolve)));
}
