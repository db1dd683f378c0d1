import type { Stores } from '../stores/stores.ts';
import { ApiKeyService, WorkspaceService, type Workspace } from './workspaces.ts';

export interface BootstrapResult {
  workspace: Workspace;
  /** Present only when this call created the workspace: the admin token, shown once. */
  adminToken?: string;
}

/** On the first start with empty stores: a workspace and an admin API key, printed once by the caller. */
export async function ensureFirstWorkspace(stores: Stores): Promise<BootstrapResult> {
  const workspaces = new WorkspaceService(stores.state);
  const existing = await workspaces.list();
  if (existing.length > 0) return { workspace: existing[0] };
  const workspace = await workspaces.create({ slug: 'demo', name: 'Demo brand 燕语燕窝', timeZone: 'Asia/Shanghai' });
  const { token } = await new ApiKeyService(stores.state).create(workspace.id, 'admin (first start)', 'admin');
  return { workspace, adminToken: token };
}
