import type { StateStore } from '../stores/state/state-store.ts';
import { DEFAULT_IDENTIFIER_TYPES, identifierTypeSchema, type IdentifierType } from './identifier-types.ts';

/** The workspace's identifier types: its own declarations, or the defaults until it declares any. */
export async function loadIdentifierTypes(state: StateStore, workspaceId: string): Promise<Map<string, IdentifierType>> {
  const rows = await state.db.selectFrom('identifier_types').select(['name', 'definition']).where('workspace_id', '=', workspaceId).execute();
  const types =
    rows.length > 0 ? rows.map((r) => identifierTypeSchema.parse(typeof r.definition === 'string' ? JSON.parse(r.definition) : r.definition)) : DEFAULT_IDENTIFIER_TYPES;
  return new Map(types.map((t) => [t.name, t]));
}

/** Declares (or redefines) one identifier type; the first declaration copies the defaults in so none are lost. */
export async function declareIdentifierType(state: StateStore, workspaceId: string, input: unknown): Promise<IdentifierType> {
  const type = identifierTypeSchema.parse(input);
  await state.db.transaction().execute(async (trx) => {
    const existing = await trx.selectFrom('identifier_types').select('name').where('workspace_id', '=', workspaceId).execute();
    if (existing.length === 0) {
      for (const t of DEFAULT_IDENTIFIER_TYPES) {
        await trx
          .insertInto('identifier_types')
          .values({ workspace_id: workspaceId, name: t.name, definition: JSON.stringify(t) })
          .execute();
      }
    }
    await trx
      .insertInto('identifier_types')
      .values({ workspace_id: workspaceId, name: type.name, definition: JSON.stringify(type) })
      .onConflict((oc) => oc.columns(['workspace_id', 'name']).doUpdateSet({ definition: JSON.stringify(type), updated_at: new Date() }))
      .execute();
  });
  return type;
}
