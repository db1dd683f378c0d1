import type { SiyuConfig } from '../config/config.ts';
import { openStores, type Stores } from '../stores/stores.ts';
import { WorkspaceService } from '../access/workspaces.ts';
import { hostedRun } from './hosted.ts';

/**
 * The stores a command works on: its own, opened now (direct mode), or the running server's when the
 * command runs inside it (client mode, see client.ts); closing those is the server's business.
 */
export async function openCliStores(config: () => SiyuConfig, options: { migrate?: boolean } = {}): Promise<Stores> {
  const hosted = hostedRun();
  if (hosted) return { ...hosted.stores, close: async () => undefined };
  return openStores(config(), options);
}

/** Opens the stores, finds the workspace (by slug or id, or the only one), runs `fn`, closes the stores. */
export async function withWorkspace<T>(config: () => SiyuConfig, slug: string | undefined, fn: (stores: Stores, workspaceId: string) => Promise<T>): Promise<T> {
  const stores = await openCliStores(config);
  try {
    const ws = await new WorkspaceService(stores.state).resolve(slug);
    return await fn(stores, ws.id);
  } finally {
    await stores.close();
  }
}

/** Who did it, for the audit log: the operating-system user running the command. */
export function cliActor(): string {
  return `cli:${hostedRun()?.user ?? process.env.USER ?? 'unknown'}`;
}
