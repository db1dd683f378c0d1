import type { Stores } from '../stores/stores.ts';
import { resolveIdentities, type ResolveOptions, type ResolveSummary } from './resolve.ts';

/**
 * One resolution at a time per workspace in this process: two runs at once would both see the same
 * unresolved records and hand out the same new person ids.
 */
const running = new Map<string, Promise<unknown>>();

export function resolveSerially(stores: Stores, options: ResolveOptions): Promise<ResolveSummary> {
  const previous = running.get(options.workspaceId) ?? Promise.resolve();
  const next = previous.catch(() => undefined).then(() => resolveIdentities(stores, options));
  running.set(options.workspaceId, next);
  const clear = () => {
    if (running.get(options.workspaceId) === next) running.delete(options.workspaceId);
  };
  next.then(clear, clear);
  return next;
}
