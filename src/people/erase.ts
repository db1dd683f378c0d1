/**
 * Erasure of one person's personal data on their request (PIPL art. 47), from both stores.
 *
 * Gone: source records that identify them (member cards, contacts, tracked identities), every
 * identifier (person_identities, the identifiers, names, addresses and birthdays of the records kept
 * for their orders), events' personal properties and context, WeCom contacts, notes, tasks, manual
 * tags and every tag value, consents, journey places, review-queue entries, overrides and the
 * identity log's mentions, imported tag and segment lists holding their identifiers, plan audiences'
 * addresses, quarantined rows that carry them, deliveries' addresses and content.
 * Kept, de-identified under the same person id (which then names nobody): orders, lines, shipments
 * and refunds (amounts, dates, SKUs), event names, times and amounts, message events and the
 * delivery ledger's rows (counts, costs), segment snapshots (ids only).
 *
 * The facts store is changed with mutations run synchronously (mutations_sync = 2): every version of
 * a row is rewritten, not only the one FINAL reads, so plain reads show nothing either once this
 * returns. ClickHouse deletes the superseded part files after old_parts_lifetime (8 minutes by
 * default). The identifiers go on the suppression list, so nothing links them again.
 */
import { sql } from 'kysely';
import type { Stores } from '../stores/stores.ts';
import type { AuthenticatedKey } from '../access/keys.ts';
import { NotFoundError, InputError } from '../kernel/errors.ts';
import { recordAudit } from '../access/audit.ts';
import { suppressIdentifiers } from '../identity/suppression.ts';

/** Event property keys that say what happened, not who did it: kept on an erased person's events. */
const EVENT_FACT_KEYS = [
  'revenue',
  'amount',
  'value',
  'price',
  'total',
  'currency',
  'quantity',
  'discount',
  'sku',
  'product_id',
  'product_name',
  'category',
  'order_id',
  'coupon',
  'coupon_id',
  'plan',
  'step',
  'variant',
  'channel',
  'campaign',
  'page',
  'path',
  'title',
  'status',
];

export interface ErasureSummary {
  personId: number;
  identifiers: number;
  recordsDeleted: number;
  recordsBlanked: number;
  events: number;
  stateRows: Record<string, number>;
  seconds: number;
}

const SYNC = 'SETTINGS mutations_sync = 2';

/** Erases a person's personal data (see above). Admins only; the reason is recorded in the audit log. */
export async function erasePerson(stores: Stores, caller: Pick<AuthenticatedKey, 'workspaceId' | 'keyId'>, personId: number, reason: string): Promise<ErasureSummary> {
  const started = Date.now();
  const why = reason.trim();
  if (why.length < 5) throw new InputError('reason: say why this person is erased (at least 5 characters), e.g. "customer request 2026-12-01 by phone"');
  if (!Number.isSafeInteger(personId) || personId <= 0) throw new InputError('id: a person id is a positive integer');
  const ws = caller.workspaceId;
  const facts = stores.facts;
  const p = { ws, p: personId };

  // What identifies them, from every version of their rows (an older version may hold a value since changed).
  const records = await facts.query<{ source: string; kind: string; record_id: string }>(
    `SELECT DISTINCT source, kind, record_id FROM source_records FINAL WHERE workspace_id = {ws:String} AND person_id = {p:UInt64}`,
    p,
  );
  const [identityCount] = await facts.query<{ n: string }>(
    `SELECT count() AS n FROM person_identities FINAL WHERE workspace_id = {ws:String} AND person_id = {p:UInt64} AND is_deleted = 0`,
    p,
  );
  if (records.length === 0 && Number(identityCount.n) === 0) throw new NotFoundError(`no person ${personId} in this workspace`);
  const keys = records.map((r) => `${r.source}:${r.kind}:${r.record_id}`);
  const byKey = { ...p, keys };
  const recordRows = `concat(source, ':', kind, ':', record_id) IN {keys:Array(String)}`;
  const identifiers = await facts.query<{ type: string; value: string }>(
    `SELECT DISTINCT tupleElement(id, 1) AS type, tupleElement(id, 2) AS value FROM source_records ARRAY JOIN identifiers AS id
     WHERE workspace_id = {ws:String} AND ${recordRows}
     UNION DISTINCT
     SELECT DISTINCT type, value FROM person_identities WHERE workspace_id = {ws:String} AND person_id = {p:UInt64}`,
    byKey,
  );
  const names = (
    await facts.query<{ text: string }>(
      `SELECT DISTINCT arrayJoin([name, address, masked_phone]) AS text FROM source_records WHERE workspace_id = {ws:String} AND ${recordRows}
       UNION DISTINCT SELECT DISTINCT arrayJoin([name, remark]) AS text FROM contacts WHERE workspace_id = {ws:String} AND person_id = {p:UInt64}`,
      byKey,
    )
  )
    .map((r) => r.text)
    .filter((t) => [...t].length >= 2);
  // Text that identifies them wherever it was copied as is (quarantined rows, imported lists): the
  // values as stored and as files carry them (a phone without +86).
  const needles = [...new Set([...identifiers.flatMap((i) => (i.type === 'phone' ? [i.value, i.value.replace(/^\+86/, '')] : [i.value])), ...names])].filter((n) => n.length >= 2);
  const identityKeys = records.filter((r) => r.kind === 'identity').map((r) => r.record_id);
  const eventRecords = records.filter((r) => r.kind === 'event').map((r) => r.record_id);
  const contactIds = records.filter((r) => r.kind === 'contact').map((r) => r.record_id);

  // First the suppression list, so an import running meanwhile cannot link them again.
  const suppressed = await suppressIdentifiers(stores, ws, identifiers);
  await stores.state.db
    .insertInto('erased_people')
    .values({ workspace_id: ws, person_id: personId })
    .onConflict((c) => c.columns(['workspace_id', 'person_id']).doNothing())
    .execute();

  // Facts store. Records that are an order stay (their orders need an owner, so that a later
  // resolution moves the order with them), blank; every other record goes.
  await facts.command(`ALTER TABLE source_records DELETE WHERE workspace_id = {ws:String} AND ${recordRows} AND kind != 'order' ${SYNC}`, byKey);
  await facts.command(
    `ALTER TABLE source_records UPDATE identifiers = [], name = '', masked_phone = '', address = '', birthday = '', attributes = map()
     WHERE workspace_id = {ws:String} AND ${recordRows} ${SYNC}`,
    byKey,
  );
  const values = identifiers.map((i) => `${i.type}:${i.value}`);
  // Another person's live row of a shared value (a household phone) is theirs; every other row of the value goes.
  const liveOthers = (
    await facts.query<{ person_id: string }>(
      `SELECT DISTINCT person_id FROM person_identities FINAL WHERE workspace_id = {ws:String} AND concat(type, ':', value) IN {values:Array(String)} AND person_id != {p:UInt64} AND is_deleted = 0`,
      { ...p, values },
    )
  ).map((r) => Number(r.person_id));
  await facts.command(
    `ALTER TABLE person_identities DELETE WHERE workspace_id = {ws:String}
       AND (person_id = {p:UInt64} OR (concat(type, ':', value) IN {values:Array(String)} AND NOT has({others:Array(UInt64)}, person_id))) ${SYNC}`,
    { ...p, values, others: liveOthers },
  );
  const theirEvents = `workspace_id = {ws:String} AND (person_id = {p:UInt64} OR (identity_key != '' AND identity_key IN {identity_keys:Array(String)}) OR message_id IN {event_records:Array(String)})`;
  const eventParams = { ...p, identity_keys: identityKeys, event_records: eventRecords, kept_keys: EVENT_FACT_KEYS };
  const [eventCount] = await facts.query<{ n: string }>(`SELECT count() AS n FROM events WHERE ${theirEvents}`, eventParams);
  // An event keeps its name, time and the properties that say what happened (amounts, SKUs).
  await facts.command(
    `ALTER TABLE events UPDATE
       properties = concat('{', arrayStringConcat(arrayMap(kv -> concat(toJSONString(kv.1), ':', kv.2),
                      arrayFilter(kv -> has({kept_keys:Array(String)}, lower(kv.1)), JSONExtractKeysAndValuesRaw(properties))), ','), '}'),
       context = '{}', anonymous_id = '', user_id = '', identity_key = ''
     WHERE ${theirEvents} ${SYNC}`,
    eventParams,
  );
  for (const table of ['behaviour_rows', 'behaviour_rows_stage']) {
    await facts.command(`ALTER TABLE ${table} UPDATE properties = '{}' WHERE workspace_id = {ws:String} AND person_id = {p:UInt64} ${SYNC}`, p);
  }
  await facts.command(`ALTER TABLE contacts DELETE WHERE workspace_id = {ws:String} AND (person_id = {p:UInt64} OR external_userid IN {contacts:Array(String)}) ${SYNC}`, {
    ...p,
    contacts: contactIds,
  });
  await facts.command(`ALTER TABLE shipments UPDATE tracking_no = '' WHERE workspace_id = {ws:String} AND person_id = {p:UInt64} AND tracking_no != '' ${SYNC}`, p);
  await facts.command(`ALTER TABLE refunds UPDATE reason = '' WHERE workspace_id = {ws:String} AND person_id = {p:UInt64} AND reason != '' ${SYNC}`, p);
  await facts.command(
    `ALTER TABLE identity_assignments DELETE WHERE workspace_id = {ws:String} AND (person_id = {p:UInt64} OR previous_person_id = {p:UInt64} OR ${recordRows}) ${SYNC}`,
    byKey,
  );
  await facts.command(`ALTER TABLE resolution_records DELETE WHERE workspace_id = {ws:String} AND (person_id = {p:UInt64} OR ${recordRows}) ${SYNC}`, byKey);
  await facts.command(`ALTER TABLE tag_values DELETE WHERE workspace_id = {ws:String} AND person_id = {p:UInt64} ${SYNC}`, p);
  await facts.command(`ALTER TABLE plan_audiences UPDATE address = '' WHERE workspace_id = {ws:String} AND person_id = {p:UInt64} AND address != '' ${SYNC}`, p);
  await facts.command(`ALTER TABLE message_events UPDATE reason = '' WHERE workspace_id = {ws:String} AND person_id = {p:UInt64} AND reason != '' ${SYNC}`, p);
  if (needles.length > 0) {
    const found = { ws, needles, values: identifiers.map((i) => i.value) };
    await facts.command(`ALTER TABLE tag_imports DELETE WHERE workspace_id = {ws:String} AND has({needles:Array(String)}, identifier) ${SYNC}`, found);
    await facts.command(`ALTER TABLE segment_lists DELETE WHERE workspace_id = {ws:String} AND has({needles:Array(String)}, identifier) ${SYNC}`, found);
    // multiSearchAny takes at most 255 needles at a time.
    for (let i = 0; i < needles.length; i += 200) {
      await facts.command(
        `ALTER TABLE import_quarantine DELETE WHERE workspace_id = {ws:String} AND (multiSearchAny(row, {needles:Array(String)}) OR multiSearchAny(value, {needles:Array(String)})) ${SYNC}`,
        { ws, needles: needles.slice(i, i + 200) },
      );
    }
  }

  // State store.
  const db = stores.state.db;
  const stateRows: Record<string, number> = {};
  const count = (name: string, result: Array<{ numDeletedRows?: bigint; numUpdatedRows?: bigint }>) => {
    stateRows[name] = result.reduce((n, r) => n + Number(r.numDeletedRows ?? r.numUpdatedRows ?? 0), 0);
  };
  count('notes', await db.deleteFrom('person_notes').where('workspace_id', '=', ws).where('person_id', '=', personId).execute());
  count('tasks', await db.deleteFrom('staff_tasks').where('workspace_id', '=', ws).where('person_id', '=', personId).execute());
  count('manualTags', await db.deleteFrom('manual_tag_values').where('workspace_id', '=', ws).where('person_id', '=', personId).execute());
  count('consents', await db.deleteFrom('consents').where('workspace_id', '=', ws).where('person_id', '=', personId).execute());
  count('journeyPositions', await db.deleteFrom('journey_positions').where('workspace_id', '=', ws).where('person_id', '=', personId).execute());
  // The ledger keeps its rows (counts, costs, a plan's results); where and what was sent goes.
  count(
    'deliveries',
    await db.updateTable('deliveries').set({ address: null, content: null, reason: null }).where('workspace_id', '=', ws).where('person_id', '=', personId).execute(),
  );
  count(
    'reviews',
    keys.length
      ? await db
          .deleteFrom('identity_reviews')
          .where('workspace_id', '=', ws)
          .where((eb) => eb.or([eb('record_a', 'in', keys), eb('record_b', 'in', keys)]))
          .execute()
      : [],
  );
  count(
    'overrides',
    await db
      .deleteFrom('identity_overrides')
      .where('workspace_id', '=', ws)
      .where((eb) =>
        eb.or([
          eb('person_id', '=', personId),
          ...(values.length ? [eb(sql<string>`type || ':' || value`, 'in', values)] : []),
          ...(keys.length ? [eb(sql<string>`record_source || ':' || record_kind || ':' || record_id`, 'in', keys), eb('label', 'in', keys)] : []),
        ]),
      )
      .execute(),
  );
  // The order records kept have no identifier left to hold them together: linked to the first one,
  // so that a later full resolution keeps the erased person's orders under one de-identified person.
  const orders = records.filter((r) => r.kind === 'order');
  if (orders.length > 1) {
    const first = `${orders[0].source}:${orders[0].kind}:${orders[0].record_id}`;
    await db
      .insertInto('identity_overrides')
      .values(
        orders.slice(1).map((r) => ({
          workspace_id: ws,
          kind: 'link' as const,
          type: null,
          value: null,
          record_source: r.source,
          record_kind: r.kind,
          record_id: r.record_id,
          label: first,
          person_id: null,
          actor: `erasure:${personId}`,
        })),
      )
      .execute();
  }
  // The identity log names values (a hub, a conflict) in its details.
  const mentions = identifiers.map((i) => i.value);
  count(
    'identityLog',
    await db
      .deleteFrom('identity_log')
      .where('workspace_id', '=', ws)
      .where((eb) => eb.or([eb('person_id', '=', personId), ...mentions.map((v) => eb(sql<number>`strpos(details::text, ${v})`, '>', 0))]))
      .execute(),
  );

  const summary: ErasureSummary = {
    personId,
    identifiers: identifiers.length,
    recordsDeleted: records.filter((r) => r.kind !== 'order').length,
    recordsBlanked: records.filter((r) => r.kind === 'order').length,
    events: Number(eventCount.n),
    stateRows,
    seconds: (Date.now() - started) / 1000,
  };
  // The audit entry names the person id and the counts, nothing that identifies them.
  await recordAudit(stores, ws, caller.keyId, 'person.erase', `person:${personId}`, { reason: why.slice(0, 500), ...summary, suppressed });
  return summary;
}
