import type { Stores } from '../stores/stores.ts';

export async function listImportRuns(stores: Stores, workspaceId: string, limit = 50) {
  return stores.state.db
    .selectFrom('import_runs')
    .select([
      'id',
      'kind',
      'source',
      'preset',
      'status',
      'rows_read',
      'landed',
      'updated',
      'unchanged',
      'quarantined',
      'values_dropped',
      'attempts',
      'error',
      'started_at',
      'finished_at',
    ])
    .where('workspace_id', '=', workspaceId)
    .orderBy('started_at', 'desc')
    .limit(limit)
    .execute();
}

export interface QuarantineEntry {
  run_id: string;
  file: string;
  row_number: string;
  field: string;
  value: string;
  reason: string;
  action: string;
  row: string;
}

export async function listQuarantine(stores: Stores, workspaceId: string, options: { runId?: string; limit?: number } = {}): Promise<QuarantineEntry[]> {
  return stores.facts.query<QuarantineEntry>(
    `SELECT run_id, file, row_number, field, value, reason, action, row FROM import_quarantine FINAL
     WHERE workspace_id = {ws:String} AND ({run:String} = '' OR run_id = {run:String})
     ORDER BY at DESC, file, row_number, field LIMIT {limit:UInt32}`,
    { ws: workspaceId, run: options.runId ?? '', limit: options.limit ?? 50 },
  );
}
