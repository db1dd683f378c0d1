/**
 * One person's data as JSON, for their right to access and copy it (PIPL art. 45): identifiers,
 * records with every profile field, orders with lines and shipments, refunds, every event with its
 * properties and context, tags, consents, WeCom contacts, messages sent with their addresses, notes
 * and tasks. Admins only; every export is recorded in the audit log.
 */
import type { Stores } from '../stores/stores.ts';
import type { AuthenticatedKey } from '../access/keys.ts';
import { recordAudit } from '../access/audit.ts';
import { personView, personOrders } from './people.ts';
import { isoTimeOrNull } from '../kernel/time.ts';

function parsed(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export async function exportPerson(stores: Stores, caller: AuthenticatedKey, personId: number) {
  // The view checks the person exists (and the caller's scope); the rest is read here without its limits.
  const view = await personView(stores, caller, personId);
  const ws = caller.workspaceId;
  const p = { ws, p: personId };
  const [records, orders, refunds, events, contacts, deliveries] = await Promise.all([
    stores.facts.query<{
      source: string;
      kind: string;
      record_id: string;
      identifiers: Array<{ type: string; value: string }>;
      name: string;
      masked_phone: string;
      address: string;
      birthday: string;
      attributes: Record<string, string>;
      seen_at: string;
    }>(
      `SELECT source, kind, record_id, identifiers, name, masked_phone, address, birthday, attributes, toString(seen_at) AS seen_at FROM source_records FINAL
       WHERE workspace_id = {ws:String} AND person_id = {p:UInt64} ORDER BY seen_at`,
      p,
    ),
    personOrders(stores, ws, personId, '', {}, 1_000_000),
    stores.facts.query<{
      source: string;
      refund_id: string;
      order_id: string;
      amount: string;
      status: string;
      reason: string;
      requested_at: string | null;
      completed_at: string | null;
    }>(
      `SELECT source, refund_id, order_id, toString(amount) AS amount, status, reason, toString(requested_at) AS requested_at, toString(completed_at) AS completed_at
       FROM refunds FINAL WHERE workspace_id = {ws:String} AND person_id = {p:UInt64} ORDER BY requested_at`,
      p,
    ),
    stores.facts.query<{
      message_id: string;
      event: string;
      type: string;
      timestamp: string;
      source: string;
      anonymous_id: string;
      user_id: string;
      properties: string;
      context: string;
    }>(
      `SELECT message_id, event, type, toString(timestamp) AS timestamp, source, anonymous_id, user_id, properties, context FROM events FINAL
       WHERE workspace_id = {ws:String} AND person_id = {p:UInt64} ORDER BY timestamp`,
      p,
    ),
    stores.facts.query<{
      external_userid: string;
      staff_userid: string;
      staff_name: string;
      name: string;
      remark: string;
      remark_mobiles: string[];
      tags: string[];
      channel: string;
      description: string;
      added_at: string | null;
    }>(
      `SELECT external_userid, staff_userid, staff_name, name, remark, remark_mobiles, tags, channel, description, toString(added_at) AS added_at FROM contacts FINAL
       WHERE workspace_id = {ws:String} AND person_id = {p:UInt64}`,
      p,
    ),
    stores.state.db
      .selectFrom('deliveries')
      .select(['plan_key', 'step', 'variant', 'channel', 'purpose', 'status', 'address', 'entered_at', 'sent_at'])
      .where('workspace_id', '=', ws)
      .where('person_id', '=', personId)
      .orderBy('entered_at')
      .execute(),
  ]);
  await recordAudit(stores, ws, caller.keyId, 'person.export', `person:${personId}`, { records: records.length, orders: orders.length, events: events.length });
  return {
    personId,
    exportedAt: new Date().toISOString(),
    identifiers: view.identities,
    records: records.map((r) => ({
      source: r.source,
      kind: r.kind,
      recordId: r.record_id,
      identifiers: r.identifiers.map((i) => ({ type: i.type, value: i.value })),
      name: r.name,
      maskedPhone: r.masked_phone,
      address: r.address,
      birthday: r.birthday,
      attributes: r.attributes,
      seenAt: isoTimeOrNull(r.seen_at),
    })),
    profile: view.profile,
    orders,
    refunds: refunds.map((r) => ({
      source: r.source,
      refundId: r.refund_id,
      orderId: r.order_id,
      amount: Number(r.amount),
      status: r.status,
      reason: r.reason,
      requestedAt: isoTimeOrNull(r.requested_at),
      completedAt: isoTimeOrNull(r.completed_at),
    })),
    events: events.map((e) => ({
      messageId: e.message_id,
      event: e.event,
      type: e.type,
      timestamp: isoTimeOrNull(e.timestamp),
      source: e.source,
      anonymousId: e.anonymous_id,
      userId: e.user_id,
      properties: parsed(e.properties),
      context: parsed(e.context),
    })),
    tags: view.tags,
    consents: view.consents,
    contacts: contacts.map((c) => ({
      externalUserId: c.external_userid,
      staffUserId: c.staff_userid,
      staffName: c.staff_name,
      name: c.name,
      remark: c.remark,
      remarkMobiles: c.remark_mobiles,
      tags: c.tags,
      channel: c.channel,
      description: c.description,
      addedAt: isoTimeOrNull(c.added_at),
    })),
    deliveries: deliveries.map((d) => ({
      planKey: d.plan_key,
      step: d.step,
      variant: d.variant,
      channel: d.channel,
      purpose: d.purpose,
      status: d.status,
      address: d.address,
      enteredAt: new Date(d.entered_at).toISOString(),
      sentAt: d.sent_at ? new Date(d.sent_at).toISOString() : null,
    })),
    notes: view.notes,
    tasks: view.tasks,
  };
}
