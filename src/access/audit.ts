/** The audit log: exports, keys, accounts and role changes, who did them and when (admins read it). */
import type { Stores } from '../stores/stores.ts';

export async function recordAudit(stores: Stores, workspaceId: string, actor: string, action: string, target: string, details: Record<string, unknown> = {}): Promise<void> {
  await stores.state.db
    .insertInto('audit_log')
    .values({ workspace_id: workspaceId, actor, action, target, details: JSON.stringify(details) })
    .execute();
}

export async function listAudit(stores: Stores, workspaceId: string, options: { limit?: number; action?: string } = {}) {
  let query = stores.state.db.selectFrom('audit_log').select(['id', 'actor', 'action', 'target', 'details', 'at']).where('workspace_id', '=', workspaceId);
  if (options.action) query = query.where('action', '=', options.action);
  const rows = await query
    .orderBy('at', 'desc')
    .orderBy('id', 'desc')
    .limit(options.limit ?? 100)
    .execute();
  return rows.map((r) => ({ id: Number(r.id), actor: r.actor, action: r.action, target: r.target, details: r.details, at: new Date(r.at).toISOString() }));
}
