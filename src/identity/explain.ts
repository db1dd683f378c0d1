import type { Stores } from '../stores/stores.ts';

export interface PersonExplanation {
  personId: number;
  records: Array<{ source: string; kind: string; record_id: string; name: string; identifiers: Array<{ type: string; value: string }> }>;
  /** Identifier values shared by two or more of the person's records: the links that joined them. */
  links: Array<{ type: string; value: string; records: string[] }>;
  history: Array<{ kind: string; at: string; details: unknown }>;
}

/** With `sources` (a team's scope), only the records of those sources and the links between them. */
export async function explainPerson(stores: Stores, workspaceId: string, personId: number, sources?: string[]): Promise<PersonExplanation> {
  const records = await stores.facts.query<PersonExplanation['records'][number]>(
    `SELECT source, kind, record_id, name, identifiers FROM source_records FINAL
     WHERE workspace_id = {ws:String} AND person_id = {p:UInt64} ${sources ? 'AND source IN {sources:Array(String)}' : ''} ORDER BY source, kind, record_id`,
    { ws: workspaceId, p: personId, ...(sources ? { sources } : {}) },
  );
  const byValue = new Map<string, string[]>();
  for (const r of records) {
    for (const id of r.identifiers) {
      const key = `${id.type}\u0000${id.value}`;
      if (!byValue.has(key)) byValue.set(key, []);
      byValue.get(key)!.push(`${r.source}:${r.kind}:${r.record_id}`);
    }
  }
  const links = [...byValue]
    .filter(([, list]) => list.length > 1)
    .map(([key, list]) => {
      const [type, value] = key.split('\u0000');
      return { type, value, records: list };
    });
  const history = await stores.state.db
    .selectFrom('identity_log')
    .select(['kind', 'at', 'details'])
    .where('workspace_id', '=', workspaceId)
    .where('person_id', '=', personId)
    .orderBy('at')
    .execute();
  return {
    personId,
    records,
    links,
    history: history.map((h) => ({ kind: h.kind, at: new Date(h.at as unknown as string).toISOString(), details: h.details })),
  };
}
