/**
 * Imported tags: a file of identifier → value (CSV in any encoding the importers read, or XLSX; the
 * header row names the two columns). Each import replaces the tag's previous file; rows with an
 * identifier or value that does not check are rejected with their row, field and what was expected,
 * the others kept. Each run matches the file to people through OneID as it stands then.
 */
import type { Stores } from '../stores/stores.ts';
import { loadIdentifierTypes } from '../identity/identifier-store.ts';
import { normalise } from '../identity/identifier-types.ts';
import { readRows, sniffFile } from '../ingest/file-reader.ts';
import { ConflictError } from '../kernel/errors.ts';
import type { ImportedTag } from './definition.ts';
import { getTag, manualValue } from './store.ts';
import type { TagQuery } from './compute.ts';

export interface TagImportRejection {
  row: number;
  field: 'identifier' | 'value';
  value: string;
  expected: string;
}

export interface TagImportReport {
  tag: string;
  batch: number;
  rowsRead: number;
  accepted: number;
  rejected: number;
  rejections: TagImportRejection[];
}

/** Reads the file into the tag's new batch, then makes it the current one. */
export async function importTagFile(stores: Stores, workspaceId: string, key: string, file: string): Promise<TagImportReport> {
  const tag = await getTag(stores, workspaceId, key);
  if (tag.kind !== 'imported') throw new ConflictError(`tag "${key}" is ${tag.kind}; only imported tags take a file`);
  const type = (await loadIdentifierTypes(stores.state, workspaceId)).get(tag.identifierType);
  if (!type) throw new ConflictError(`tag "${key}" matches on identifier type "${tag.identifierType}", which this workspace does not declare`);
  const batch = Date.now();
  const report: TagImportReport = { tag: key, batch, rowsRead: 0, accepted: 0, rejected: 0, rejections: [] };
  let rows: Array<Record<string, unknown>> = [];
  const flush = async () => {
    if (rows.length > 0) await stores.facts.insertRows('tag_imports', rows);
    rows = [];
  };
  let header = true;
  for await (const row of readRows(sniffFile(file))) {
    if (header) {
      header = false;
      if (row.values.length < 2) throw new ConflictError(`${file}: the header names ${row.values.length} column(s); expected two (identifier, value)`);
      continue;
    }
    report.rowsRead++;
    const [rawIdentifier = '', rawValue = ''] = row.values;
    const reject = (field: TagImportRejection['field'], value: string, expected: string) => {
      report.rejected++;
      // Every rejection is counted; the first thousand are listed.
      if (report.rejections.length < 1000) report.rejections.push({ row: row.rowNumber, field, value, expected });
    };
    let identifier: string;
    try {
      identifier = normalise(type, rawIdentifier);
    } catch (error) {
      reject('identifier', rawIdentifier, `a ${tag.identifierType} (${(error as Error).message})`);
      continue;
    }
    let value: unknown;
    try {
      value = manualValue({ key, valueType: tag.valueType }, rawValue);
    } catch (error) {
      reject('value', rawValue, (error as Error & { issues?: Array<{ message: string }> }).issues?.[0]?.message ?? (error as Error).message);
      continue;
    }
    rows.push({ workspace_id: workspaceId, tag: key, batch, row_number: row.rowNumber, identifier, value: JSON.stringify(value) });
    report.accepted++;
    if (rows.length >= 50_000) await flush();
  }
  await flush();
  // The new batch is complete: older ones go (a run reads the newest batch only, so a crash before this loses nothing).
  await stores.facts.command(`ALTER TABLE tag_imports DELETE WHERE workspace_id = {ws:String} AND tag = {tag:String} AND batch < {batch:UInt64}`, {
    ws: workspaceId,
    tag: key,
    batch,
  });
  return report;
}

/** The tag's newest file matched to people: where identifiers of one person disagree, the last row wins. */
export function importedQuery(tag: ImportedTag): TagQuery {
  const value = {
    string: 'JSONExtractString(value)',
    number: "JSONExtract(value, 'Float64')",
    boolean: "JSONExtract(value, 'UInt8')",
    date: 'toDate32(JSONExtractString(value))',
    string_list: "JSONExtract(value, 'Array(String)')",
  }[tag.valueType];
  const file = `SELECT identifier, value, row_number FROM tag_imports
    WHERE workspace_id = {ws:String} AND tag = {tag:String}
      AND batch = (SELECT max(batch) FROM tag_imports WHERE workspace_id = {ws:String} AND tag = {tag:String})`;
  return {
    sql: `SELECT pi.person_id AS person_id, argMax(${value}, f.row_number) AS value FROM (${file}) AS f
      INNER JOIN (SELECT value AS identifier, person_id FROM person_identities FINAL WHERE workspace_id = {ws:String} AND type = {identifier_type:String}) AS pi
      ON f.identifier = pi.identifier
      GROUP BY pi.person_id`,
    params: { identifier_type: tag.identifierType },
  };
}
