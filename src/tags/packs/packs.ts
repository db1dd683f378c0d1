/** Ready tag packs: installed in one command, computed in one run. */
import type { Stores } from '../../stores/stores.ts';
import { NotFoundError } from '../../kernel/errors.ts';
import type { TagDefinitionInput } from '../definition.ts';
import { listTags, saveTag } from '../store.ts';
import { RETAIL_PACK } from './retail.ts';

export const PACKS: Record<string, { description: string; tags: TagDefinitionInput[] }> = {
  retail: { description: 'RFM, lifecycle, purchase cycle, subscriptions, spend, preferences, WeCom, predictions and CLV tiers for a consumer brand', tags: RETAIL_PACK },
};

export interface PackInstall {
  pack: string;
  installed: string[];
  /** Tags of the pack the workspace has already (kept as they are, unless replaced). */
  kept: string[];
  replaced: string[];
}

/**
 * Installs a pack's tags. Installing again changes nothing: a tag the workspace has already keeps
 * its own definition (a brand may have tuned it) unless `replace` is given.
 */
export async function installPack(stores: Stores, workspaceId: string, name: string, options: { replace?: boolean } = {}): Promise<PackInstall> {
  const pack = PACKS[name];
  if (!pack) throw new NotFoundError(`no tag pack "${name}"; packs: ${Object.keys(PACKS).join(', ')}`);
  const existing = new Set((await listTags(stores, workspaceId)).map((t) => t.key));
  const result: PackInstall = { pack: name, installed: [], kept: [], replaced: [] };
  for (const tag of pack.tags) {
    if (existing.has(tag.key) && !options.replace) {
      result.kept.push(tag.key);
      continue;
    }
    await saveTag(stores, workspaceId, tag, { replace: true });
    (existing.has(tag.key) ? result.replaced : result.installed).push(tag.key);
  }
  return result;
}
