import type { SiyuConfig } from '../config/config.ts';
import { openStores, type Stores } from '../stores/stores.ts';
import { WorkspaceService } from '../workspaces/workspaces.ts';

/** Opens the stores, finds the workspace (by slug or id, or the only one), runs `fn`, closes the stores. */
export async function withWorkspace<T>(config: () => SiyuConfig, slug: string | undefined, fn: (stores: Stores, workspaceId: string) => Promise<T>): Promise<T> {
  const stores = await openStores(config());
  try {
    const ws = await new WorkspaceService(stores.state).resolve(slug);
    return await fn(stores, ws.id);
  } finally {
    await stores.close();
  }
}

/** Who did it, for the audit log: the operating-system user running the command. */
export function cliActor(): string {
  return `cli:${process.env.USER ?? 'unknown'}`;
}
