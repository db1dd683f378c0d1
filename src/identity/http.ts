/**
 * OneID over HTTP: identifier types, resolution, a person's explanation, the operators' corrections
 * (unbind, unmerge), the review queue and the evaluation exports. Personal data is masked for roles
 * that may not see it.
 */
import fs from 'node:fs';
import { temporaryDirOf } from '../kernel/uploads.ts';
import path from 'node:path';
import crypto from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { callerOf } from '../access/auth.ts';
import { recordAudit } from '../access/audit.ts';
import type { Stores } from '../stores/stores.ts';
import { NotFoundError } from '../kernel/errors.ts';
import {
  explanationSchema,
  identifierTypeResponseSchema,
  identifierTypeSchema,
  identifierTypesResponseSchema,
  oneIdSettingsChangeSchema,
  oneIdSettingsResponseSchema,
  resolveInputSchema,
  reviewDecisionSchema,
  reviewsQuerySchema,
  unbindInputSchema,
  resolveResponseSchema,
  reviewDecisionResponseSchema,
  reviewsResponseSchema,
  unmergeResponseSchema,
} from '../contract/identity.ts';
import { declareIdentifierType, loadIdentifierTypes } from './identifier-store.ts';
import { resolveSerially } from './resolve-queue.ts';
import { explainPerson } from './explain.ts';
import { unbindIdentifier, unmergePerson } from './overrides.ts';
import { decideReview, listReviews } from './reviews.ts';
import { exportIdentities, exportRecords } from './exports.ts';
import { getOneIdSettings, saveOneIdSettings } from './settings.ts';
import { maskIdentifier, maskName, maskRecordId, maskRecordKey, seesPersonalData } from '../access/masking.ts';
import { assertPersonInScope, scopeOf, scopeSources } from '../access/scope.ts';

const personParams = z.object({ id: z.coerce.number().int().positive() });
const actorOf = (keyId: string) => `api:${keyId}`;

export function identityRoutes(app: FastifyInstance, stores: Stores): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const security = [{ bearer: [] }];

  api.get(
    '/api/v1/identifier-types',
    { schema: { tags: ['oneid'], summary: 'The identifier types of the workspace, highest priority first', security, response: { 200: identifierTypesResponseSchema } } },
    async (request) => {
      const types = await loadIdentifierTypes(stores.state, callerOf(request).workspaceId);
      return { types: [...types.values()].sort((a, b) => b.priority - a.priority) };
    },
  );

  api.post(
    '/api/v1/identifier-types',
    {
      config: { roles: ['admin'] },
      schema: { tags: ['oneid'], summary: 'Declare (or redefine) an identifier type', security, body: identifierTypeSchema, response: { 200: identifierTypeResponseSchema } },
    },
    async (request) => ({ type: await declareIdentifierType(stores.state, callerOf(request).workspaceId, request.body) }),
  );

  api.get(
    '/api/v1/identities/settings',
    {
      config: { roles: ['admin', 'operator', 'analyst'] },
      schema: {
        tags: ['oneid'],
        summary: 'OneID settings: probabilistic matching on or off, merge and review thresholds',
        security,
        response: { 200: oneIdSettingsResponseSchema },
      },
    },
    async (request) => ({ settings: await getOneIdSettings(stores, callerOf(request).workspaceId) }),
  );
  api.put(
    '/api/v1/identities/settings',
    {
      config: { roles: ['admin'] },
      schema: {
        tags: ['oneid'],
        summary: 'Change OneID settings; the next resolution run uses them',
        security,
        body: oneIdSettingsChangeSchema,
        response: { 200: oneIdSettingsResponseSchema },
      },
    },
    async (request) => {
      const caller = callerOf(request);
      const settings = await saveOneIdSettings(stores, caller.workspaceId, request.body);
      await recordAudit(stores, caller.workspaceId, caller.keyId, 'oneid.settings', caller.workspaceId, settings);
      return { settings };
    },
  );

  api.post(
    '/api/v1/identities/resolve',
    {
      config: { roles: ['admin', 'operator'] },
      schema: {
        tags: ['oneid'],
        summary: 'Attach unresolved records to people, or recompute everyone with full',
        security,
        body: resolveInputSchema,
        response: { 200: resolveResponseSchema },
      },
    },
    async (request) => ({ summary: await resolveSerially(stores, { workspaceId: callerOf(request).workspaceId, full: request.body.full }) }),
  );

  api.get(
    '/api/v1/people/:id/explain',
    {
      config: { roles: ['admin', 'operator', 'analyst', 'staff'] },
      schema: {
        tags: ['oneid'],
        summary: "A person's records, the shared identifiers that joined them, and their merge history",
        security,
        params: personParams,
        response: { 200: explanationSchema },
      },
    },
    async (request) => {
      const caller = callerOf(request);
      await assertPersonInScope(stores, caller, request.params.id);
      const explanation = await explainPerson(stores, caller.workspaceId, request.params.id, scopeSources(caller));
      if (explanation.records.length === 0) throw new NotFoundError(`no person ${request.params.id} in this workspace`);
      // Merges and splits name people; conflicts, hubs and unbinds name identifier values, which may
      // be another team's: a scoped caller sees those entries without their details.
      const history = scopeOf(caller)
        ? explanation.history.map((h) => ({ kind: h.kind, at: h.at, details: h.kind === 'merge' || h.kind === 'split' ? h.details : null }))
        : explanation.history;
      if (seesPersonalData(caller.role)) return { ...explanation, history, masked: false };
      return {
        ...explanation,
        records: explanation.records.map((r) => ({
          ...r,
          record_id: maskRecordId(r.kind, r.record_id),
          name: maskName(r.name),
          identifiers: r.identifiers.map((id) => ({ type: id.type, value: maskIdentifier(id.type, id.value) })),
        })),
        links: explanation.links.map((l) => ({ ...l, value: maskIdentifier(l.type, l.value), records: l.records.map(maskRecordKey) })),
        history: explanation.history.map((h) => ({ kind: h.kind, at: h.at, details: h.kind === 'merge' || h.kind === 'split' ? h.details : null })),
        masked: true,
      };
    },
  );

  api.post(
    '/api/v1/people/:id/unbind',
    {
      config: { roles: ['admin', 'operator'] },
      schema: {
        tags: ['oneid'],
        summary: 'Remove one identifier from a person: the value links nobody from now on',
        security,
        params: personParams,
        body: unbindInputSchema,
        response: { 200: resolveResponseSchema },
      },
    },
    async (request) => {
      const caller = callerOf(request);
      await assertPersonInScope(stores, caller, request.params.id);
      return { summary: await unbindIdentifier(stores, caller.workspaceId, request.params.id, request.body.type, request.body.value, actorOf(caller.keyId)) };
    },
  );

  api.post(
    '/api/v1/people/:id/unmerge',
    {
      config: { roles: ['admin', 'operator'] },
      schema: {
        tags: ['oneid'],
        summary: "Undo the person's latest merge; the people it joined stay apart",
        security,
        params: personParams,
        response: { 200: unmergeResponseSchema },
      },
    },
    async (request) => {
      const caller = callerOf(request);
      await assertPersonInScope(stores, caller, request.params.id);
      const { summary, groups } = await unmergePerson(stores, caller.workspaceId, request.params.id, actorOf(caller.keyId));
      return { groups, summary };
    },
  );

  api.get(
    '/api/v1/identities/reviews',
    {
      config: { roles: ['admin', 'operator', 'analyst'] },
      schema: {
        tags: ['oneid'],
        summary: 'Probabilistic matches waiting for a decision (or decided ones)',
        security,
        querystring: reviewsQuerySchema,
        response: { 200: reviewsResponseSchema },
      },
    },
    async (request) => {
      const caller = callerOf(request);
      const rows = await listReviews(stores, caller.workspaceId, request.query.status, request.query.limit, scopeSources(caller));
      const key = seesPersonalData(caller.role) ? (k: string) => k : maskRecordKey;
      return {
        reviews: rows.map((r) => ({
          id: Number(r.id),
          recordA: key(r.record_a),
          recordB: key(r.record_b),
          probability: Number(r.probability),
          pattern: typeof r.pattern === 'string' ? JSON.parse(r.pattern) : r.pattern,
          status: r.status,
          decidedBy: r.decided_by,
          decidedAt: r.decided_at ? new Date(r.decided_at as unknown as string).toISOString() : null,
        })),
      };
    },
  );

  api.post(
    '/api/v1/identities/reviews/:id',
    {
      config: { roles: ['admin', 'operator'], scoped: true },
      schema: {
        tags: ['oneid'],
        summary: 'Accept (link the two records for good) or reject (keep them apart for good) a match',
        security,
        params: z.object({ id: z.coerce.number().int().positive() }),
        body: reviewDecisionSchema,
        response: { 200: reviewDecisionResponseSchema },
      },
    },
    async (request) => {
      const caller = callerOf(request);
      const decision = request.body.decision === 'accept' ? 'accepted' : 'rejected';
      return decideReview(stores, caller.workspaceId, request.params.id, decision, actorOf(caller.keyId), scopeSources(caller));
    },
  );

  for (const [url, summary, write] of [
    ['/api/v1/identities/export', 'person_id,type,value for every identifier of every person (CSV)', exportIdentities],
    ['/api/v1/records/export', 'source,record_id,person_id for every imported source record (CSV)', exportRecords],
  ] as const) {
    api.get(url, { config: { roles: ['admin', 'operator'] }, schema: { tags: ['oneid'], summary, security } }, async (request, reply) => {
      const file = path.join(temporaryDirOf(stores.dataDir), `siyu-export-${crypto.randomBytes(8).toString('hex')}.csv`);
      const caller = callerOf(request);
      const { workspaceId, keyId } = caller;
      await recordAudit(stores, workspaceId, keyId, url === '/api/v1/identities/export' ? 'export.identities' : 'export.records', workspaceId, {
        scope: scopeOf(caller)?.team?.name ?? null,
      });
      await write(stores, workspaceId, file, caller);
      const stream = fs.createReadStream(file);
      stream.on('close', () => fs.rm(file, { force: true }, () => undefined));
      return reply.type('text/csv; charset=utf-8').send(stream);
    });
  }
}
