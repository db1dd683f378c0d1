/**
 * OneID settings per workspace: probabilistic matching on or off, the probability at which two
 * records merge, the band below it that goes to the review queue, and the largest block compared.
 * Every resolution run without explicit options reads them.
 */
import { type OneIdSettings, oneIdSettingsSchema } from '../contract/identity.ts';
import type { Stores } from '../stores/stores.ts';
import { DEFAULT_FUZZY, type FuzzyOptions } from './fuzzy.ts';

const DEFAULT_ONEID_SETTINGS: OneIdSettings = { fuzzy: true, autoMerge: true, ...DEFAULT_FUZZY };

export async function getOneIdSettings(stores: Stores, workspaceId: string): Promise<OneIdSettings> {
  const row = await stores.state.db.selectFrom('oneid_settings').selectAll().where('workspace_id', '=', workspaceId).executeTakeFirst();
  return row
    ? { fuzzy: row.fuzzy, autoMerge: row.auto_merge, mergeAt: Number(row.merge_at), reviewAt: Number(row.review_at), maxBlock: Number(row.max_block) }
    : DEFAULT_ONEID_SETTINGS;
}

/** Changes some settings (the rest stay); the next resolution run uses them. */
export async function saveOneIdSettings(stores: Stores, workspaceId: string, change: Partial<OneIdSettings>): Promise<OneIdSettings> {
  const settings = oneIdSettingsSchema.parse({ ...(await getOneIdSettings(stores, workspaceId)), ...change });
  const values = {
    fuzzy: settings.fuzzy,
    auto_merge: settings.autoMerge,
    merge_at: settings.mergeAt,
    review_at: settings.reviewAt,
    max_block: settings.maxBlock,
    updated_at: new Date(),
  };
  await stores.state.db
    .insertInto('oneid_settings')
    .values({ workspace_id: workspaceId, ...values })
    .onConflict((c) => c.column('workspace_id').doUpdateSet(values))
    .execute();
  return settings;
}

/** The fuzzy options a run uses: as asked, or the workspace's settings. */
export async function fuzzyOptionsFor(stores: Stores, workspaceId: string, asked: Partial<FuzzyOptions> | false | undefined): Promise<FuzzyOptions | undefined> {
  const settings = await getOneIdSettings(stores, workspaceId);
  if (asked === false || (asked === undefined && !settings.fuzzy)) return undefined;
  return { mergeAt: settings.autoMerge ? settings.mergeAt : Number.POSITIVE_INFINITY, reviewAt: settings.reviewAt, maxBlock: settings.maxBlock, ...asked };
}
