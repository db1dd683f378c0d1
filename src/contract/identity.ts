/** OneID over the API: identifier types, reviews, settings, explanations, sign keys (routes in src/identity/http.ts, src/tracking/sign-keys-http.ts). */
import { z } from 'zod';
import { isoTimeSchema } from './common.ts';

/** A key the brand's server signs customers' identities with (never its secret). */
export const signKeySchema = z.object({
  id: z.string().describe('the key id: the token\'s "iss"'),
  name: z.string(),
  createdBy: z.string(),
  createdAt: isoTimeSchema,
  revokedAt: isoTimeSchema.nullable(),
});
export type SignKey = z.infer<typeof signKeySchema>;
export const signKeyInputSchema = z.object({ name: z.string().trim().min(1).max(200) });
export const signKeysResponseSchema = z.object({ keys: z.array(signKeySchema) });
export const signKeyResponseSchema = z.object({ key: signKeySchema });
export const createdSignKeySchema = z.object({
  key: signKeySchema,
  secret: z.string().describe('shown once: the HS256 secret your server signs with; the key id is the token\'s "iss"'),
});

/** How each kind of id behaves in OneID (declared per workspace). */
export const identifierTypeSchema = z.object({
  name: z.string().regex(/^[a-z][a-z0-9_]{1,39}$/, 'must be 2–40 lower-case letters, digits or underscores'),
  label: z.string().min(1),
  /** Higher wins: when two links conflict, the one through the higher-priority type stands. */
  priority: z.number().int().min(0).max(1000),
  /** A single-valued type never lets one person hold two values (one UnionID per person). */
  singleValued: z.boolean(),
  /** A value shared by more people than this links nobody (a clerk's phone typed for every walk-in). */
  maxPeoplePerValue: z.number().int().min(1).max(1_000_000),
  /** An OpenID belongs to a UnionID: the parent type, when the platform nests ids. */
  parent: z.string().optional(),
  normaliser: z.enum(['phone_cn', 'email', 'trim', 'lower']),
  /** Strong ids link records deterministically; weak ones are only evidence for fuzzy matching. */
  strong: z.boolean().default(true),
});
export type IdentifierType = z.infer<typeof identifierTypeSchema>;
export const identifierTypesResponseSchema = z.object({ types: z.array(identifierTypeSchema) });
export const identifierTypeResponseSchema = z.object({ type: identifierTypeSchema });

export const oneIdSettingsSchema = z
  .object({
    fuzzy: z.boolean(),
    /** Off: every probabilistic match at or above reviewAt waits for a person in the review queue. */
    autoMerge: z.boolean(),
    mergeAt: z.number().gt(0.5, 'above 0.5: a merge must be more likely than not').max(1),
    reviewAt: z.number().gt(0).max(1),
    maxBlock: z.number().int().min(2).max(1000),
  })
  .strict()
  .refine((s) => s.reviewAt <= s.mergeAt, { message: 'must be at most mergeAt (the review band lies below the merge threshold)', path: ['reviewAt'] });
export type OneIdSettings = z.infer<typeof oneIdSettingsSchema>;
export const oneIdSettingsResponseSchema = z.object({ settings: oneIdSettingsSchema });

/** What a resolution run (or a correction: unbind, unmerge, a review decision) did. */
export const resolveSummarySchema = z.object({
  runId: z.string(),
  records: z.number(),
  people: z.number(),
  newPeople: z.number(),
  merges: z.number(),
  splits: z.number(),
  fuzzyLinks: z.number(),
  reviews: z.number(),
  hubs: z.number(),
  conflicts: z.number(),
  reassigned: z.number(),
  seconds: z.number(),
  steps: z.record(z.string(), z.number()),
});
export type ResolveSummary = z.infer<typeof resolveSummarySchema>;
export const resolveResponseSchema = z.object({ summary: resolveSummarySchema });
export const unmergeResponseSchema = z.object({ groups: z.number(), summary: resolveSummarySchema });

/** A person's records, the shared identifiers that joined them, and their merge history. */
export const explanationSchema = z.object({
  personId: z.number(),
  records: z.array(
    z.object({ source: z.string(), kind: z.string(), record_id: z.string(), name: z.string(), identifiers: z.array(z.object({ type: z.string(), value: z.string() })) }),
  ),
  links: z.array(z.object({ type: z.string(), value: z.string(), records: z.array(z.string()) })),
  history: z.array(z.object({ kind: z.string(), at: z.string(), details: z.unknown() })),
  masked: z.boolean(),
});
export type Explanation = z.infer<typeof explanationSchema>;

/** A probabilistic match waiting for (or given) a decision. */
export const reviewSchema = z.object({
  id: z.number(),
  recordA: z.string(),
  recordB: z.string(),
  probability: z.number(),
  pattern: z.unknown(),
  status: z.string(),
  decidedBy: z.string().nullable(),
  decidedAt: isoTimeSchema.nullable(),
});
export type Review = z.infer<typeof reviewSchema>;
export const reviewsResponseSchema = z.object({ reviews: z.array(reviewSchema) });
export const reviewDecisionResponseSchema = z.object({ person: z.number(), summary: resolveSummarySchema });

export const oneIdSettingsChangeSchema = z
  .object({
    fuzzy: z.boolean().optional(),
    autoMerge: z.boolean().optional(),
    mergeAt: z.number().optional(),
    reviewAt: z.number().optional(),
    maxBlock: z.number().int().optional(),
  })
  .strict();
export const resolveInputSchema = z.object({ full: z.boolean().default(false) }).default({ full: false });
export const unbindInputSchema = z.object({ type: z.string().min(1), value: z.string().min(1) });
export const reviewsQuerySchema = z.object({ status: z.enum(['pending', 'accepted', 'rejected']).default('pending'), limit: z.coerce.number().int().min(1).max(1000).default(50) });
export const reviewDecisionSchema = z.object({ decision: z.enum(['accept', 'reject']) });
