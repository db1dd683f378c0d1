/** People search, the person view and the overview over HTTP; all within the caller's data scope. */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { callerOf } from '../access/auth.ts';
import type { Stores } from '../stores/stores.ts';
import { LookupLimitError, LookupRefusedError, personView, searchPeople } from './people.ts';
import { ApiError } from '../kernel/errors.ts';
import { overview } from './overview.ts';
import { erasePerson } from './erase.ts';
import { exportPerson } from './export.ts';
import { addNote, listNotes } from './notes.ts';
import {
  erasureInputSchema,
  erasureResponseSchema,
  noteInputSchema,
  overviewQuerySchema,
  peopleSearchQuerySchema,
  noteResponseSchema,
  notesResponseSchema,
  overviewSchema,
  peopleSearchResponseSchema,
  personExportSchema,
  personSchema,
} from '../contract/people.ts';
import { assertPersonInScope, scopeOf, seesPartOf } from '../access/scope.ts';
import { maskText, seesPersonalData } from '../access/masking.ts';

export function peopleRoutes(app: FastifyInstance, stores: Stores): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const security = [{ bearer: [] }];
  const tags = ['people'];
  // People are for those who work with them; a tracker key only sends events.
  const readers = { roles: ['admin', 'operator', 'analyst', 'staff'] as const };

  api.get(
    '/api/v1/people',
    {
      config: readers,
      schema: {
        tags,
        summary:
          'Find people by any identifier (normalised as its type says), a part of a name, or a person id. Roles that see personal data masked search by a part of a name, the person id or the last 4 digits of a phone; a full identifier only with a reason (audited, limited per hour)',
        security,
        querystring: peopleSearchQuerySchema,
        response: { 200: peopleSearchResponseSchema },
      },
    },
    async (request) => {
      try {
        return { people: await searchPeople(stores, callerOf(request), request.query.q, { limit: request.query.limit, reason: request.query.reason }) };
      } catch (error) {
        if (error instanceof LookupRefusedError) throw new ApiError(403, 'forbidden', error.message);
        if (error instanceof LookupLimitError) throw new ApiError(429, 'rate_limited', error.message);
        throw error;
      }
    },
  );

  api.get(
    '/api/v1/people/:id',
    {
      config: readers,
      schema: {
        tags,
        summary: "A person's 360 view: identities and their sources, profile, tags, orders with lines and shipments, events, messages, tasks, consents",
        security,
        params: z.object({ id: z.coerce.number().int().positive() }),
        response: { 200: personSchema },
      },
    },
    async (request) => personView(stores, callerOf(request), request.params.id),
  );

  const person = z.object({ id: z.coerce.number().int().positive() });
  // Personal-data rights (PIPL art. 45, 47): an admin exports or erases one person, each recorded.
  api.get(
    '/api/v1/people/:id/export',
    {
      config: { roles: ['admin'] as const },
      schema: {
        tags,
        summary: "One person's data as JSON (identifiers, records, orders, refunds, events, tags, consents, contacts, deliveries, notes, tasks); audited",
        security,
        params: person,
        response: { 200: personExportSchema },
      },
    },
    async (request, reply) => {
      const data = await exportPerson(stores, callerOf(request), request.params.id);
      return reply.header('content-disposition', `attachment; filename="person-${request.params.id}.json"`).send(data);
    },
  );
  api.delete(
    '/api/v1/people/:id',
    {
      config: { roles: ['admin'] as const },
      schema: {
        tags,
        summary: "Erase a person's personal data from both stores (orders and event counts kept de-identified); their identifiers are never linked again; audited",
        security,
        params: person,
        body: erasureInputSchema,
        response: { 200: erasureResponseSchema },
      },
    },
    async (request) => ({ erased: await erasePerson(stores, callerOf(request), request.params.id, request.body.reason) }),
  );
  api.get(
    '/api/v1/people/:id/notes',
    { config: readers, schema: { tags, summary: 'Notes on a person, newest first', security, params: person, response: { 200: notesResponseSchema } } },
    async (request) => {
      const caller = callerOf(request);
      await assertPersonInScope(stores, caller, request.params.id);
      // Another team's customer too: only the notes this team wrote.
      const partial = await seesPartOf(stores, caller, request.params.id);
      const notes = await listNotes(stores, caller.workspaceId, request.params.id, partial ? { teamId: scopeOf(caller)?.team?.id ?? '' } : {});
      // Free text: what in it looks like a phone, an email or an ID number is masked for a masked role.
      return { notes: seesPersonalData(caller.role) ? notes : notes.map((n) => ({ ...n, text: maskText(n.text) })) };
    },
  );
  api.post(
    '/api/v1/people/:id/notes',
    {
      config: { roles: ['admin', 'operator', 'staff'] as const, scoped: true },
      schema: { tags, summary: 'Add a note on a person', security, params: person, body: noteInputSchema, response: { 201: noteResponseSchema } },
    },
    async (request, reply) => reply.code(201).send({ note: await addNote(stores, callerOf(request), request.params.id, request.body) }),
  );

  api.get(
    '/api/v1/overview',
    {
      config: { roles: ['admin', 'operator', 'analyst'] as const },
      schema: {
        tags,
        summary: 'People, buyers, orders, GMV and repurchase rate over the last N days; lifecycle distribution, RFM matrix, daily trend',
        security,
        querystring: overviewQuerySchema,
        response: { 200: overviewSchema },
      },
    },
    async (request) => overview(stores, callerOf(request), request.query.days),
  );
}
