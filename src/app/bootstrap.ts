import crypto from 'node:crypto';
import type { Stores } from '../stores/stores.ts';
import { WorkspaceService, type Workspace } from '../access/workspaces.ts';
import { ApiKeyService } from '../access/keys.ts';
import { createUser, newUserSchema } from '../access/users.ts';
import { InputError } from '../kernel/errors.ts';

export interface BootstrapResult {
  workspace: Workspace;
  /** Present only when this call created the workspace: the admin token, shown once. */
  adminToken?: string;
  /** Likewise: the console's first admin login (the password is shown once unless it came from the environment). */
  adminLogin?: { email: string; password: string; fromEnvironment: boolean };
}

/**
 * On the first start with empty stores: a workspace, an admin API key and an admin who logs in to
 * the console (SIYU_ADMIN_EMAIL, SIYU_ADMIN_PASSWORD; a generated password otherwise, good only for
 * choosing a new one at the first login), printed once by the caller.
 */
export async function ensureFirstWorkspace(stores: Stores, env: NodeJS.ProcessEnv = process.env): Promise<BootstrapResult> {
  const workspaces = new WorkspaceService(stores.state);
  const existing = await workspaces.list();
  if (existing.length > 0) return { workspace: existing[0] };
  const email = env.SIYU_ADMIN_EMAIL || 'admin@siyu.local';
  const password = env.SIYU_ADMIN_PASSWORD || crypto.randomBytes(12).toString('base64url');
  const admin = { email, name: 'Admin 管理员', role: 'admin', password };
  // Checked before anything is made: a refused login must not leave a workspace whose key nobody saw.
  const checked = newUserSchema.safeParse(admin);
  if (!checked.success) {
    const issue = checked.error.issues[0];
    throw new InputError(`${issue.path[0] === 'password' ? 'SIYU_ADMIN_PASSWORD' : 'SIYU_ADMIN_EMAIL'}: ${issue.message}`);
  }
  const workspace = await workspaces.create({ slug: 'demo', name: 'Demo brand 燕语燕窝', timeZone: 'Asia/Shanghai' });
  const { token } = await new ApiKeyService(stores.state).create(workspace.id, 'admin (first start)', 'admin');
  // A generated password is printed (and so sits in a terminal's scrollback or a log): it only lets the
  // admin choose their own. One from the environment was chosen by the operator and stands.
  const generated = !env.SIYU_ADMIN_PASSWORD;
  await createUser(stores, workspace.id, admin, { mustChangePassword: generated });
  return { workspace, adminToken: token, adminLogin: { email, password, fromEnvironment: !generated } };
}
