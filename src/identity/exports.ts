import fs from 'node:fs';
import type { Stores } from '../stores/stores.ts';
import type { AuthenticatedKey } from '../access/keys.ts';
import { identitySourcesScope, peopleScope, sourceScope } from '../access/scope.ts';
import { sql } from '../facts/sql.ts';
import { csvRows } from '../kernel/csv.ts';

async function writeCsv(stores: Stores, out: string, header: string[], sql: string, params: Record<string, unknown>): Promise<number> {
  const rows = await stores.facts.query<Record<string, string>>(sql, params);
  const fd = fs.openSync(out, 'w');
  try {
    fs.writeSync(fd, csvRows([header]));
    // Written 10,000 rows at a time (a few MB), not as one string.
    for (let start = 0; start < rows.length; start += 10_000) {
      fs.writeSync(fd, csvRows(rows.slice(start, start + 10_000).map((row) => header.map((h) => row[h]))));
    }
  } finally {
    fs.closeSync(fd);
  }
  return rows.length;
}

type Viewer = Pick<AuthenticatedKey, 'scope'>;

/** `person_id,type,value`: every identifier of every person (a team: of its people, from its sources). */
export function exportIdentities(stores: Stores, workspaceId: string, out: string, viewer: Viewer = {}): Promise<number> {
  const { query, params } = sql`SELECT person_id, type, value FROM person_identities FINAL
     WHERE workspace_id = ${workspaceId} AND person_id > 0 AND ${peopleScope(viewer, workspaceId)} AND ${identitySourcesScope(viewer)}
     ORDER BY person_id, type, value`.toQuery();
  return writeCsv(stores, out, ['person_id', 'type', 'value'], query, params);
}

/**
 * `source,record_id,person_id`: one row per imported source record. A tracked event is a record of
 * its own here (its message id), with the person of the identity record it belongs to.
 */
export function exportRecords(stores: Stores, workspaceId: string, out: string, viewer: Viewer = {}): Promise<number> {
  const { query, params } = sql.with({ ws: workspaceId })`SELECT source, record_id, person_id FROM (
       SELECT source, record_id, person_id FROM source_records FINAL WHERE workspace_id = {ws:String} AND kind != 'identity'
       UNION ALL
       SELECT source, message_id AS record_id, person_id FROM events FINAL WHERE workspace_id = {ws:String} AND identity_key != ''
     ) WHERE ${peopleScope(viewer, workspaceId)} AND ${sourceScope(viewer)} ORDER BY source, record_id`.toQuery();
  return writeCsv(stores, out, ['source', 'record_id', 'person_id'], query, params);
}
