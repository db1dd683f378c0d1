/**
 * People as operators look them up: search by any identifier, a name or a person id, and the 360
 * view (identities and where each came from, profile, tags, orders with lines and shipments, events,
 * messages received, tasks, consents). Everything is read within the caller's data scope and masked
 * as their role requires.
 */
import type { Stores } from '../stores/stores.ts';
import type { AuthenticatedKey } from '../access/keys.ts';
import { NotFoundError, InputError } from '../kernel/errors.ts';
import { loadIdentifierTypes } from '../identity/identifier-store.ts';
import { normalise, normaliseEmail, normalisePhone } from '../identity/identifier-types.ts';
import { recordAudit } from '../access/audit.ts';
import { maskField, maskIdentifier, maskName, maskProperties, maskRecordId, maskTagValue, maskText, seesPersonalData } from '../access/masking.ts';
import { assertPersonInScope, identitySourcesScope, peopleInScope, peopleScope, scopeOf, scopeSources, seesPartOf, sourceScope } from '../access/scope.ts';
import { sql } from '../facts/sql.ts';
import { personTagsWithAuthors } from '../tags/store.ts';
import { consentsOf } from '../policy/policy.ts';
import { listNotes } from './notes.ts';
import { isProfileField, memberProfile, PROFILE_FIELDS } from '../facts/member-profile.ts';
import { isoTimeOrNull } from '../kernel/time.ts';

type Caller = AuthenticatedKey;

/** Identifiers the caller may see, masked unless their role sees personal data. */
function shown(caller: Caller) {
  const clear = seesPersonalData(caller.role);
  return {
    identifier: (type: string, value: string) => (clear ? value : maskIdentifier(type, value)),
    name: (name: string) => (clear ? name : maskName(name)),
    recordId: (kind: string, id: string) => (clear ? id : maskRecordId(kind, id)),
    properties: (type: string, properties: unknown) => (clear ? properties : maskProperties(properties, type === 'identify')),
    // Under an impersonal key too, what looks like a phone or an email is masked.
    profile: (profile: Record<string, string>) =>
      clear ? profile : Object.fromEntries(Object.entries(profile).map(([field, value]) => [field, maskText(maskField(field, value))])),
    tagValue: (key: string, value: unknown) => (clear ? value : maskTagValue(key, value)),
    text: (text: string) => (clear ? text : maskText(text)),
  };
}

export interface PersonHit {
  personId: number;
  name: string;
  identifiers: Array<{ type: string; value: string }>;
  sources: string[];
}

/** A masked role's exact identifier lookups (each with a reason) per user per hour. */
export const MASKED_LOOKUPS_PER_HOUR = 10;

/** A masked role asked for a full identifier without a reason: refused before anything is read. */
export class LookupRefusedError extends InputError {
  override name = 'LookupRefusedError';
}

/** A masked role used up its identifier lookups for the hour. */
export class LookupLimitError extends Error {
  override name = 'LookupLimitError';
}

export interface SearchOptions {
  limit?: number;
  /** Why a role that sees personal data masked looks someone up by a full identifier (recorded). */
  reason?: string;
}

/**
 * People whose identifier equals the text (as typed, or normalised by any identifier type: a phone
 * typed with spaces finds +86…), whose name contains it, or whose id it is.
 *
 * A role that sees phones masked would otherwise learn from a hit that 138****5678 is the number it
 * typed (the exact match is an oracle). Such a role finds people by a part of a name, the person id or
 * the last 4 digits of a phone, which tell it nothing the masked view does not show. Only with a
 * reason does it match full identifiers, each lookup audited and at most MASKED_LOOKUPS_PER_HOUR an
 * hour; without one, text that reads as a phone or an email is refused outright (decided by the text
 * alone, so the refusal says nothing about who exists).
 */
export async function searchPeople(stores: Stores, caller: Caller, text: string, { limit = 20, reason }: SearchOptions = {}): Promise<PersonHit[]> {
  const q = text.trim();
  if (!q) return [];
  const values = new Set([q]);
  for (const type of (await loadIdentifierTypes(stores.state, caller.workspaceId)).values()) {
    try {
      values.add(normalise(type, q));
    } catch {
      // Not a value of this type.
    }
  }
  const masked = !seesPersonalData(caller.role);
  const givenReason = reason?.trim() ?? '';
  const matchIdentifiers = !masked || givenReason.length > 0;
  if (masked && !givenReason && readsAsPhoneOrEmail(q)) {
    throw new LookupRefusedError(
      `q: your role sees phones and emails masked, so it cannot look people up by a full one: search by a part of a name, the person id or the last 4 digits of a phone, or give a reason (reason=…; recorded in the audit log, at most ${MASKED_LOOKUPS_PER_HOUR} an hour)`,
    );
  }
  if (masked && givenReason) await recordMaskedLookup(stores, caller, q, givenReason);
  const lastFour = masked && !givenReason && /^\d{4}$/.test(q);
  const scope = peopleScope(caller, caller.workspaceId);
  // A team matches on what its own sources brought only (a JD-only phone must not find a shared person).
  const identityFilter = identitySourcesScope(caller);
  const recordFilter = scopeSources(caller) ? sql`AND ${sourceScope(caller)}` : sql.empty;
  const id = /^\d{1,15}$/.test(q) ? Number(q) : 0;
  // Names have letters: digits and signs (a phone, an id) need not read every record's name, and
  // match a few people at most, whose scope is then checked one by one.
  const byName = /\p{L}/u.test(q);
  // Many people share four last digits: those are read within the scope in the query, like names.
  const inQuery = byName || lastFour;
  const named = sql.with({ ws: caller.workspaceId, values: [...values], q, id, limit: inQuery ? limit : 1000 });
  const identifierMatch = matchIdentifiers
    ? named`SELECT person_id FROM person_identities FINAL
       WHERE workspace_id = {ws:String} AND value IN {values:Array(String)} AND person_id > 0 AND ${identityFilter}
       UNION DISTINCT`
    : lastFour
      ? named`SELECT person_id FROM person_identities FINAL
       WHERE workspace_id = {ws:String} AND type = 'phone' AND endsWith(value, {q:String}) AND person_id > 0 AND ${identityFilter}
       UNION DISTINCT`
      : sql.empty;
  const search = named`SELECT person_id FROM (
       ${identifierMatch}
       ${
         byName
           ? named`SELECT person_id FROM source_records FINAL
       WHERE workspace_id = {ws:String} AND person_id > 0 AND name != '' AND positionCaseInsensitiveUTF8(name, {q:String}) > 0 ${recordFilter}
       UNION DISTINCT`
           : sql.empty
       }
       SELECT person_id FROM source_records FINAL WHERE workspace_id = {ws:String} AND {id:UInt64} > 0 AND person_id = {id:UInt64}
     ) WHERE ${inQuery ? scope : sql`1`} ORDER BY person_id LIMIT {limit:UInt32}`.toQuery();
  const rows = await stores.facts.query<{ person_id: string }>(search.query, search.params);
  const found = rows.map((r) => Number(r.person_id));
  const visible = inQuery ? found : [...(await peopleInScope(stores, caller, found))].sort((a, b) => a - b).slice(0, limit);
  return describePeople(stores, caller, visible);
}

/** Text a person would type as a phone or an email (the identifiers a masked view shows in part). */
function readsAsPhoneOrEmail(q: string): boolean {
  for (const check of [normalisePhone, normaliseEmail]) {
    try {
      check(q);
      return true;
    } catch {
      // Not this kind.
    }
  }
  // Eleven digits or more are a phone typed another way (a landline, another country): ids are shorter.
  return /^[+\d\s\-().]+$/.test(q) && q.replace(/\D/g, '').length >= 11;
}

/**
 * A masked role's full-identifier lookup: refused past the hour's limit, otherwise recorded (the
 * text masked, so the audit log does not keep what the role may not see).
 */
async function recordMaskedLookup(stores: Stores, caller: Caller, q: string, reason: string): Promise<void> {
  const since = new Date(Date.now() - 3600_000);
  const row = await stores.state.db
    .selectFrom('audit_log')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('workspace_id', '=', caller.workspaceId)
    .where('actor', '=', caller.keyId)
    .where('action', '=', 'people.lookup')
    .where('at', '>=', since)
    .executeTakeFirst();
  if (Number(row?.n ?? 0) >= MASKED_LOOKUPS_PER_HOUR) {
    await recordAudit(stores, caller.workspaceId, caller.keyId, 'people.lookup_refused', caller.workspaceId, { query: maskField(queryField(q), q), reason: reason.slice(0, 500) });
    throw new LookupLimitError(`your role may look people up by a full identifier ${MASKED_LOOKUPS_PER_HOUR} times an hour; try again later or ask an admin`);
  }
  await recordAudit(stores, caller.workspaceId, caller.keyId, 'people.lookup', caller.workspaceId, { query: maskField(queryField(q), q), reason: reason.slice(0, 500) });
}

/** The field name the masking rules read a typed query as. */
const queryField = (q: string) => (/@/.test(q) ? 'email' : /^[+\d\s\-()]+$/.test(q) ? 'phone' : 'identifier');

/** Name, identifiers and sources of a few people, as the caller may see them. */
async function describePeople(stores: Stores, caller: Caller, ids: number[]): Promise<PersonHit[]> {
  if (ids.length === 0) return [];
  const sources = scopeSources(caller);
  const identitiesQuery = sql`SELECT person_id, type, value FROM person_identities FINAL
       WHERE workspace_id = ${caller.workspaceId} AND person_id IN ${sql.param(ids, 'Array(UInt64)')} AND ${identitySourcesScope(caller)} ORDER BY person_id, type, value`.toQuery();
  const show = shown(caller);
  const [identities, names] = await Promise.all([
    stores.facts.query<{ person_id: string; type: string; value: string }>(identitiesQuery.query, identitiesQuery.params),
    stores.facts.query<{ person_id: string; name: string; sources: string[] }>(
      `SELECT person_id, argMaxIf(name, seen_at, name != '') AS name, groupUniqArray(source) AS sources FROM source_records FINAL
       WHERE workspace_id = {ws:String} AND person_id IN {ids:Array(UInt64)} ${sources ? 'AND source IN {scope_sources:Array(String)}' : ''}
       GROUP BY person_id`,
      { ws: caller.workspaceId, ids, ...(sources ? { scope_sources: sources } : {}) },
    ),
  ]);
  const byPerson = new Map(names.map((n) => [Number(n.person_id), n]));
  return ids.map((personId) => ({
    personId,
    name: show.name(byPerson.get(personId)?.name ?? ''),
    identifiers: identities.filter((i) => Number(i.person_id) === personId).map((i) => ({ type: i.type, value: show.identifier(i.type, i.value) })),
    sources: (byPerson.get(personId)?.sources ?? []).sort(),
  }));
}

/** A facts-store time as text ('2026-11-24 09:45:00.000', UTC) in ISO 8601. */

/** Everything known about one person that the caller may see. A person out of scope is a 404. */
export async function personView(stores: Stores, caller: Caller, personId: number) {
  await assertPersonInScope(stores, caller, personId);
  const ws = caller.workspaceId;
  const sources = scopeSources(caller);
  const bySource = sources ? 'AND source IN {scope_sources:Array(String)}' : '';
  const sourceParams = sources ? { scope_sources: sources } : {};
  const show = shown(caller);
  const identitiesQuery =
    sql`SELECT type, value, sources FROM person_identities FINAL WHERE workspace_id = ${ws} AND person_id = ${sql.param(personId, 'UInt64')} AND ${identitySourcesScope(caller)} ORDER BY type, value`.toQuery();

  const records = await stores.facts.query<{
    source: string;
    kind: string;
    record_id: string;
    name: string;
    address: string;
    birthday: string;
    attributes: Record<string, string>;
    seen_at: string;
  }>(
    `SELECT source, kind, record_id, name, address, birthday, attributes, toString(seen_at) AS seen_at FROM source_records FINAL
     WHERE workspace_id = {ws:String} AND person_id = {p:UInt64} ${bySource} ORDER BY seen_at`,
    { ws, p: personId, ...sourceParams },
  );
  if (records.length === 0) throw new NotFoundError(`no person ${personId} in this workspace`);
  // The profile: the member profile's fields as segments and templates see them (member records only),
  // and each other field's latest non-empty value over the person's records (a name, an address).
  const profile: Record<string, string> = {};
  for (const r of records) {
    for (const [field, value] of Object.entries({ ...r.attributes, name: r.name, address: r.address, birthday: r.birthday }))
      if (value && !isProfileField(field)) profile[field] = value;
  }
  const [member] = await stores.facts.query<Record<string, string>>(
    `SELECT * FROM ${memberProfile({ values: 'text', peopleParam: 'people', sourcesParam: sources ? 'scope_sources' : undefined })}`,
    { ws, people: [personId], ...sourceParams },
  );
  for (const field of Object.keys(PROFILE_FIELDS)) if (member?.[`pf_${field}`]) profile[field] = member[`pf_${field}`];

  // A person shared with other teams: the team reads its own sources' facts, not what was derived from
  // or written about all of them (a record importing another team's customer's phone pulls in no more).
  const partial = await seesPartOf(stores, caller, personId);
  const [identities, orders, events, allTags, allDeliveries, allTasks, consents, notes] = await Promise.all([
    stores.facts.query<{ type: string; value: string; sources: string[] }>(identitiesQuery.query, identitiesQuery.params),
    personOrders(stores, ws, personId, bySource, sourceParams),
    stores.facts.query<{ event: string; type: string; timestamp: string; properties: string; source: string }>(
      `SELECT event, type, toString(timestamp) AS timestamp, properties, source FROM events FINAL
       WHERE workspace_id = {ws:String} AND person_id = {p:UInt64} ${bySource} ORDER BY timestamp DESC LIMIT 100`,
      { ws, p: personId, ...sourceParams },
    ),
    personTagsWithAuthors(stores, ws, personId),
    stores.state.db
      .selectFrom('deliveries')
      .select(['plan_key', 'channel', 'status', 'reason', 'variant', 'step', 'entered_at', 'sent_at', 'updated_at'])
      .where('workspace_id', '=', ws)
      .where('person_id', '=', personId)
      .orderBy('entered_at', 'desc')
      .limit(100)
      .execute(),
    stores.state.db
      .selectFrom('staff_tasks')
      .select(['id', 'source', 'title', 'status', 'created_at', 'closed_at'])
      .where('workspace_id', '=', ws)
      .where('person_id', '=', personId)
      .orderBy('created_at', 'desc')
      .execute(),
    consentsOf(stores, ws, personId),
    listNotes(stores, ws, personId, partial ? { teamId: scopeOf(caller)?.team?.id ?? '' } : {}),
  ]);
  const [tags, deliveries, tasks] = partial ? [[], [], []] : [allTags, allDeliveries, allTasks];
  // Who set manual tags (recorded as api:<user or key id>), by name.
  const setters = [...new Set(tags.flatMap((t) => ('setBy' in t ? [t.setBy] : [])))];
  const ids = setters.map((s) => s.replace(/^api:/, ''));
  const named = ids.length
    ? [
        ...(await stores.state.db.selectFrom('users').select(['id', 'name']).where('workspace_id', '=', ws).where('id', 'in', ids).execute()),
        ...(await stores.state.db.selectFrom('api_keys').select(['id', 'name']).where('workspace_id', '=', ws).where('id', 'in', ids).execute()),
      ]
    : [];
  const authors = new Map(named.map((n) => [`api:${n.id}`, n.name]));
  return {
    personId,
    // The records read above (oldest first, within the scope): the latest name, and where they came from.
    name: show.name(profile.name ?? ''),
    sources: [...new Set(records.map((r) => r.source))].sort(),
    profile: show.profile(profile),
    identities: identities.map((i) => ({ type: i.type, value: show.identifier(i.type, i.value), sources: sources ? i.sources.filter((s) => sources.includes(s)) : i.sources })),
    records: records.map((r) => ({ source: r.source, kind: r.kind, recordId: show.recordId(r.kind, r.record_id), seenAt: isoTimeOrNull(r.seen_at) })),
    tags: tags.map((t) => ({
      key: t.key,
      name: t.name,
      type: t.type,
      value: show.tagValue(t.key, t.value),
      computedAt: t.baseDate,
      ...('setBy' in t ? { setBy: t.setBy, setByName: authors.get(t.setBy) ?? t.setBy, setAt: t.setAt } : {}),
    })),
    orders,
    events: events.map((e) => ({
      event: e.event,
      type: e.type,
      timestamp: isoTimeOrNull(e.timestamp),
      source: e.source,
      properties: show.properties(e.type, safeJson(e.properties)),
    })),
    messages: deliveries.map((d) => ({
      planKey: d.plan_key,
      step: d.step,
      variant: d.variant,
      channel: d.channel,
      status: d.status,
      detail: d.reason ? show.text(d.reason) : d.reason,
      at: new Date(d.sent_at ?? d.updated_at ?? d.entered_at).toISOString(),
    })),
    tasks: tasks.map((t) => ({
      id: Number(t.id),
      source: t.source,
      title: show.text(t.title),
      status: t.status,
      createdAt: new Date(t.created_at).toISOString(),
      closedAt: t.closed_at ? new Date(t.closed_at).toISOString() : null,
    })),
    consents: consents.map((c) => ({ channel: c.channel, status: c.status, source: c.source, at: new Date(c.updated_at).toISOString() })),
    // Free text: what in it looks like a phone, an email or an ID number is masked for a masked role.
    notes: notes.map((n) => ({ ...n, text: show.text(n.text) })),
  };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** The person's latest orders (a package order once, with its shipments), with their lines; 100 unless said. */
export async function personOrders(stores: Stores, ws: string, personId: number, bySource: string, sourceParams: Record<string, unknown>, limit = 100) {
  const params = { ws, p: personId, limit, ...sourceParams };
  const orders = await stores.facts.query<{
    source: string;
    order_id: string;
    status: string;
    ordered_at: string;
    amount: string;
    refunded: string;
    is_package: number;
    package_periods: number;
    store_id: string;
  }>(
    `SELECT source, order_id, status, toString(ordered_at) AS ordered_at, toString(amount) AS amount, toString(refunded) AS refunded, is_package, package_periods, store_id
     FROM orders FINAL WHERE workspace_id = {ws:String} AND person_id = {p:UInt64} ${bySource} ORDER BY ordered_at DESC LIMIT {limit:UInt32}`,
    params,
  );
  if (orders.length === 0) return [];
  const ids = orders.map((o) => o.order_id);
  const [lines, shipments] = await Promise.all([
    stores.facts.query<{ source: string; order_id: string; sku: string; product_name: string; category: string; quantity: number; amount: string }>(
      `SELECT source, order_id, sku, product_name, category, quantity, toString(amount) AS amount FROM order_lines FINAL
       WHERE workspace_id = {ws:String} AND person_id = {p:UInt64} AND order_id IN {ids:Array(String)} ${bySource} ORDER BY order_id, line_no`,
      { ...params, ids },
    ),
    stores.facts.query<{ source: string; order_id: string; period: number; planned_at: string | null; shipped_at: string | null; status: string }>(
      `SELECT source, order_id, period, toString(planned_at) AS planned_at, toString(shipped_at) AS shipped_at, status FROM shipments FINAL
       WHERE workspace_id = {ws:String} AND person_id = {p:UInt64} AND order_id IN {ids:Array(String)} ${bySource} ORDER BY order_id, period`,
      { ...params, ids },
    ),
  ]);
  const key = (r: { source: string; order_id: string }) => `${r.source}\u0000${r.order_id}`;
  return orders.map((o) => ({
    source: o.source,
    orderId: o.order_id,
    status: o.status,
    orderedAt: isoTimeOrNull(o.ordered_at),
    amount: Number(o.amount),
    refunded: Number(o.refunded),
    isPackage: o.is_package === 1,
    packagePeriods: o.package_periods,
    storeId: o.store_id,
    lines: lines
      .filter((l) => key(l) === key(o))
      .map((l) => ({ sku: l.sku, productName: l.product_name, category: l.category, quantity: Number(l.quantity), amount: Number(l.amount) })),
    shipments: shipments
      .filter((s) => key(s) === key(o))
      .map((s) => ({ period: s.period, plannedAt: isoTimeOrNull(s.planned_at), shippedAt: isoTimeOrNull(s.shipped_at), status: s.status })),
  }));
}
