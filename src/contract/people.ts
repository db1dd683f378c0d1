/**
 * People over the API: search hits, the 360 view, notes, the overview, erasure and the PIPL export
 * (routes in src/people/http.ts). Values a masked role may not read arrive masked in the same shapes.
 */
import { z } from 'zod';
import { isoTimeSchema } from './common.ts';

const named = z.object({ zh: z.string(), en: z.string() });
const identifierSchema = z.object({ type: z.string(), value: z.string() });

export const personHitSchema = z.object({ personId: z.number(), name: z.string(), identifiers: z.array(identifierSchema), sources: z.array(z.string()) });
export type PersonHit = z.infer<typeof personHitSchema>;
export const peopleSearchResponseSchema = z.object({ people: z.array(personHitSchema) });

export const noteInputSchema = z.object({ text: z.string().trim().min(1, 'write something').max(2000) }).strict();
export const noteSchema = z.object({ id: z.number(), text: z.string(), author: z.string(), authorName: z.string(), createdAt: isoTimeSchema });
export type Note = z.infer<typeof noteSchema>;
export const notesResponseSchema = z.object({ notes: z.array(noteSchema) });
export const noteResponseSchema = z.object({ note: noteSchema });

/** A person's tag value as the person view and GET /people/:id/tags show it; manual tags say who set them. */
export const personTagSchema = z.object({
  key: z.string(),
  name: named,
  type: z.string(),
  value: z.unknown().describe('the value (masked for a masked role when it is personal)'),
  computedAt: z.string(),
  setBy: z.string().optional(),
  setByName: z.string().optional(),
  setAt: z.string().optional(),
});

const personOrderSchema = z.object({
  source: z.string(),
  orderId: z.string(),
  status: z.string(),
  orderedAt: isoTimeSchema.nullable(),
  amount: z.number(),
  refunded: z.number(),
  isPackage: z.boolean(),
  packagePeriods: z.number(),
  storeId: z.string(),
  lines: z.array(z.object({ sku: z.string(), productName: z.string(), category: z.string(), quantity: z.number(), amount: z.number() })),
  shipments: z.array(z.object({ period: z.number(), plannedAt: isoTimeSchema.nullable(), shippedAt: isoTimeSchema.nullable(), status: z.string() })),
});

const personTaskSchema = z.object({
  id: z.number(),
  source: z.string(),
  title: z.string(),
  status: z.enum(['open', 'done']),
  createdAt: isoTimeSchema,
  closedAt: isoTimeSchema.nullable(),
});
const consentViewSchema = z.object({ channel: z.string(), status: z.string(), source: z.string(), at: isoTimeSchema });

/** GET /api/v1/people/:id: everything known about one person that the caller may see. */
export const personSchema = z.object({
  personId: z.number(),
  name: z.string(),
  sources: z.array(z.string()),
  profile: z.record(z.string(), z.string()),
  identities: z.array(z.object({ type: z.string(), value: z.string(), sources: z.array(z.string()) })),
  records: z.array(z.object({ source: z.string(), kind: z.string(), recordId: z.string(), seenAt: isoTimeSchema.nullable() })),
  tags: z.array(personTagSchema),
  orders: z.array(personOrderSchema),
  events: z.array(z.object({ event: z.string(), type: z.string(), timestamp: isoTimeSchema.nullable(), source: z.string(), properties: z.unknown() })),
  messages: z.array(
    z.object({ planKey: z.string(), step: z.string(), variant: z.string(), channel: z.string(), status: z.string(), detail: z.string().nullable(), at: isoTimeSchema }),
  ),
  tasks: z.array(personTaskSchema),
  consents: z.array(consentViewSchema),
  notes: z.array(noteSchema).describe('newest first'),
});
export type Person = z.infer<typeof personSchema>;

/** GET /api/v1/people/:id/export: one person's data (PIPL art. 45), downloaded as a JSON file. */
export const personExportSchema = z.object({
  personId: z.number(),
  exportedAt: isoTimeSchema,
  identifiers: z.array(z.object({ type: z.string(), value: z.string(), sources: z.array(z.string()) })),
  records: z.array(
    z.object({
      source: z.string(),
      kind: z.string(),
      recordId: z.string(),
      identifiers: z.array(identifierSchema),
      name: z.string(),
      maskedPhone: z.string(),
      address: z.string(),
      birthday: z.string(),
      attributes: z.record(z.string(), z.string()),
      seenAt: isoTimeSchema.nullable(),
    }),
  ),
  profile: z.record(z.string(), z.string()),
  orders: z.array(personOrderSchema),
  refunds: z.array(
    z.object({
      source: z.string(),
      refundId: z.string(),
      orderId: z.string(),
      amount: z.number(),
      status: z.string(),
      reason: z.string(),
      requestedAt: isoTimeSchema.nullable(),
      completedAt: isoTimeSchema.nullable(),
    }),
  ),
  events: z.array(
    z.object({
      messageId: z.string(),
      event: z.string(),
      type: z.string(),
      timestamp: isoTimeSchema.nullable(),
      source: z.string(),
      anonymousId: z.string(),
      userId: z.string(),
      properties: z.unknown(),
      context: z.unknown(),
    }),
  ),
  tags: z.array(personTagSchema),
  consents: z.array(consentViewSchema),
  contacts: z.array(
    z.object({
      externalUserId: z.string(),
      staffUserId: z.string(),
      staffName: z.string(),
      name: z.string(),
      remark: z.string(),
      remarkMobiles: z.array(z.string()),
      tags: z.array(z.string()),
      channel: z.string(),
      description: z.string(),
      addedAt: isoTimeSchema.nullable(),
    }),
  ),
  deliveries: z.array(
    z.object({
      planKey: z.string(),
      step: z.string(),
      variant: z.string(),
      channel: z.string(),
      purpose: z.string(),
      status: z.string(),
      address: z.string().nullable(),
      enteredAt: isoTimeSchema,
      sentAt: isoTimeSchema.nullable(),
    }),
  ),
  notes: z.array(noteSchema),
  tasks: z.array(personTaskSchema),
});

const erasureSummarySchema = z.object({
  personId: z.number(),
  identifiers: z.number(),
  recordsDeleted: z.number(),
  recordsBlanked: z.number(),
  events: z.number(),
  stateRows: z.record(z.string(), z.number()),
  seconds: z.number(),
});
export const erasureResponseSchema = z.object({ erased: erasureSummarySchema });

/** GET /api/v1/overview: people, buyers, orders, GMV over the last N days, lifecycle, RFM and the daily trend. */
export const overviewSchema = z.object({
  asOf: z.string(),
  from: z.string(),
  days: z.number(),
  people: z.number(),
  buyers: z.number(),
  orders: z.number(),
  gmv: z.number(),
  repurchaseRate: z.number().nullable(),
  lifecycle: z.array(z.object({ value: z.string(), people: z.number() })),
  rfm: z.object({ r: z.array(z.string()), f: z.array(z.string()), cells: z.array(z.array(z.number())) }).nullable(),
  trend: z.array(z.object({ day: z.string(), orders: z.number(), gmv: z.number(), buyers: z.number() })),
});
export type Overview = z.infer<typeof overviewSchema>;

export const peopleSearchQuerySchema = z.object({
  q: z.string().trim().min(1, 'type something to search for').max(200),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  reason: z.string().trim().min(5, 'say in a few words why you look this person up').max(500).optional(),
});
export const erasureInputSchema = z.object({ reason: z.string().trim().min(5, 'say why this person is erased (at least 5 characters)').max(500) }).strict();
export const overviewQuerySchema = z.object({ days: z.coerce.number().int().min(1).max(3660).default(90) });
