/** Segments over HTTP: definitions, live counts, samples, insights, snapshots, files in and out. */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { callerOf } from '../access/auth.ts';
import { recordAudit } from '../access/audit.ts';
import { withUploadedFile } from '../kernel/uploads.ts';
import type { Stores } from '../stores/stores.ts';
import {
  behaviourIndexBuildSchema,
  behaviourIndexStatusSchema,
  crossMatrixSchema,
  crossQuerySchema,
  insightsQuerySchema,
  listImportQuerySchema,
  segmentCountQuerySchema,
  segmentExportQuerySchema,
  segmentKeyParamsSchema,
  segmentSampleQuerySchema,
  snapshotDiffQuerySchema,
  treeCountRequestSchema,
  insightsSchema,
  listImportReportSchema,
  segmentCountSchema,
  segmentDetailSchema,
  segmentListSchema,
  segmentReplySchema,
  segmentSampleSchema,
  segmentSchema,
  snapshotDiffSchema,
  snapshotListSchema,
  snapshotReplySchema,
  treeCountSchema,
  type Condition,
} from '../contract/segments.ts';
import { noContentSchema } from '../contract/common.ts';
import { countSegment, deleteSegment, estimateSegment, getSegment, listSegments, sampleSegment, saveSegment, type SegmentTree } from './segments.ts';
import { diffSnapshots, listSnapshots, takeSnapshot } from './snapshots.ts';
import { crossMatrix, segmentInsights } from './insights.ts';
import { exportSegment, importSegmentList } from './lists.ts';
import { behaviourIndexStatus, refreshBehaviourIndex } from './behaviour.ts';
import { maskedConditionProblem } from './masked.ts';
import { maskTagValue, seesPersonalData } from '../access/masking.ts';
import { ApiError } from '../kernel/errors.ts';

const writers = { roles: ['admin', 'operator'] as const };

export function segmentRoutes(app: FastifyInstance, stores: Stores): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const security = [{ bearer: [] }];
  const tags = ['segments'];
  const key = segmentKeyParamsSchema;

  api.get(
    '/api/v1/segments',
    { schema: { tags, summary: 'The workspace segments, each with its last snapshot', security, response: { 200: segmentListSchema } } },
    async (request) => {
      const workspaceId = callerOf(request).workspaceId;
      const segments = await listSegments(stores, workspaceId);
      return { segments: await Promise.all(segments.map(async (s) => ({ ...s, lastSnapshot: (await listSnapshots(stores, workspaceId, s.key))[0] ?? null }))) };
    },
  );

  api.post(
    '/api/v1/segments',
    { config: writers, schema: { tags, summary: 'Create a segment', security, body: segmentSchema, response: { 201: segmentReplySchema } } },
    async (request, reply) => reply.code(201).send({ segment: await saveSegment(stores, callerOf(request).workspaceId, request.body) }),
  );

  api.put(
    '/api/v1/segments/:key',
    { config: writers, schema: { tags, summary: 'Replace a segment', security, params: key, body: segmentSchema, response: { 200: segmentReplySchema } } },
    async (request) => {
      if (request.body.key !== request.params.key) throw new ApiError(400, 'validation_failed', `body.key: must be "${request.params.key}", the segment being replaced`);
      return { segment: await saveSegment(stores, callerOf(request).workspaceId, request.body, { replace: true }) };
    },
  );

  api.delete(
    '/api/v1/segments/:key',
    { config: writers, schema: { tags, summary: 'Delete a segment (not while another reads it)', security, params: key, response: { 204: noContentSchema } } },
    async (request, reply) => {
      await deleteSegment(stores, callerOf(request).workspaceId, request.params.key);
      return reply.code(204).send();
    },
  );

  api.get(
    '/api/v1/segments/behaviour-index',
    {
      schema: {
        tags,
        summary: 'The behaviour index: its last build and how many people changed since (read from the events until the next build)',
        security,
        response: { 200: behaviourIndexStatusSchema },
      },
    },
    async (request) => behaviourIndexStatus(stores, callerOf(request).workspaceId),
  );

  api.post(
    '/api/v1/segments/behaviour-index',
    {
      config: writers,
      schema: { tags, summary: 'Bring the behaviour index up to date now (the weeks with changed events)', security, response: { 200: behaviourIndexBuildSchema } },
    },
    async (request) => {
      const caller = callerOf(request);
      const build = await refreshBehaviourIndex(stores, caller.workspaceId);
      return { build };
    },
  );

  // A tree being edited: the estimate at once, the exact count when asked.
  api.post(
    '/api/v1/segments/count',
    {
      // A read that takes its tree in the body: counted within the caller's scope.
      config: { scoped: true },
      schema: {
        tags,
        summary: 'Size of a tree being edited: an estimate (on a 1/16 hash slice, with a 95% interval) and, unless estimateOnly, the exact count',
        security,
        body: treeCountRequestSchema,
        response: { 200: treeCountSchema },
      },
    },
    async (request) => {
      const caller = callerOf(request);
      const { estimateOnly, ...body } = request.body;
      // A count compared with guesses unmasks what a masked role sees masked: such a role compares on what it sees.
      const problem = seesPersonalData(caller.role) ? undefined : maskedConditionProblem(body.conditions as Condition[]);
      if (problem) throw new ApiError(403, 'forbidden', problem);
      const tree = { ...(body as SegmentTree), viewer: caller };
      const estimate = await estimateSegment(stores, caller.workspaceId, tree);
      return { estimate, exact: estimateOnly ? null : await countSegment(stores, caller.workspaceId, tree) };
    },
  );

  api.get(
    '/api/v1/segments/cross',
    {
      schema: {
        tags,
        summary: 'People per pair of values of two tags, inside a segment or the whole base',
        security,
        querystring: crossQuerySchema,
        response: { 200: crossMatrixSchema },
      },
    },
    async (request) => {
      const caller = callerOf(request);
      const { rows, columns, segment, top } = request.query;
      const matrix = await crossMatrix(stores, caller.workspaceId, segment ? await getSegment(stores, caller.workspaceId, segment) : undefined, rows, columns, top, caller);
      if (seesPersonalData(caller.role)) return matrix;
      // Tag values as a masked role sees them (a text tag may hold phones or names); they are text, and stay text.
      return {
        ...matrix,
        columns: matrix.columns.map((v) => String(maskTagValue(columns, v))),
        rows: matrix.rows.map((r) => ({ ...r, value: String(maskTagValue(rows, r.value)) })),
      };
    },
  );

  api.get(
    '/api/v1/segments/:key',
    { schema: { tags, summary: 'A segment: definition and snapshots', security, params: key, response: { 200: segmentDetailSchema } } },
    async (request) => {
      const workspaceId = callerOf(request).workspaceId;
      return { segment: await getSegment(stores, workspaceId, request.params.key), snapshots: await listSnapshots(stores, workspaceId, request.params.key) };
    },
  );

  api.get(
    '/api/v1/segments/:key/count',
    {
      schema: { tags, summary: 'A segment’s size now: exact, or an estimate', security, params: key, querystring: segmentCountQuerySchema, response: { 200: segmentCountSchema } },
    },
    async (request) => {
      const caller = callerOf(request);
      const workspaceId = caller.workspaceId;
      const tree = { ...(await getSegment(stores, workspaceId, request.params.key)), today: request.query.today, viewer: caller };
      return request.query.estimate ? { estimate: await estimateSegment(stores, workspaceId, tree) } : { exact: await countSegment(stores, workspaceId, tree) };
    },
  );

  api.get(
    '/api/v1/segments/:key/sample',
    {
      schema: {
        tags,
        summary: 'Some members with their identifiers (masked unless the key is admin or operator)',
        security,
        params: key,
        querystring: segmentSampleQuerySchema,
        response: { 200: segmentSampleSchema },
      },
    },
    async (request) => {
      const caller = callerOf(request);
      const segment = await getSegment(stores, caller.workspaceId, request.params.key);
      return { people: await sampleSegment(stores, caller.workspaceId, { ...segment, viewer: caller }, { limit: request.query.limit, role: caller.role }) };
    },
  );

  api.get(
    '/api/v1/segments/:key/insights',
    {
      schema: {
        tags,
        summary: 'Distributions of tags inside the segment against the whole base',
        security,
        params: key,
        querystring: insightsQuerySchema,
        response: { 200: insightsSchema },
      },
    },
    async (request) => {
      const caller = callerOf(request);
      const workspaceId = caller.workspaceId;
      const segment = { ...(await getSegment(stores, workspaceId, request.params.key)), viewer: caller };
      const insights = await segmentInsights(
        stores,
        workspaceId,
        segment,
        request.query.tags
          .split(',')
          .map((t) => t.trim())
          .filter(Boolean),
        request.query.top,
      );
      if (seesPersonalData(caller.role)) return insights;
      // Tag values as a masked role sees them (a text tag may hold phones or names).
      return {
        ...insights,
        tags: insights.tags.map((t) => ('values' in t && t.values ? { ...t, values: t.values.map((v) => ({ ...v, value: String(maskTagValue(t.key, v.value)) })) } : t)),
      };
    },
  );

  api.post(
    '/api/v1/segments/:key/snapshots',
    { config: writers, schema: { tags, summary: 'Take a snapshot of the segment’s members now', security, params: key, response: { 201: snapshotReplySchema } } },
    async (request, reply) => reply.code(201).send({ snapshot: await takeSnapshot(stores, callerOf(request).workspaceId, request.params.key, 'manual') }),
  );
  api.get(
    '/api/v1/segments/:key/snapshots',
    { schema: { tags, summary: 'The kept snapshots, newest first', security, params: key, response: { 200: snapshotListSchema } } },
    async (request) => ({
      snapshots: await listSnapshots(stores, callerOf(request).workspaceId, request.params.key),
    }),
  );
  api.get(
    '/api/v1/segments/:key/snapshots/diff',
    {
      schema: {
        tags,
        summary: 'Who joined and who left between two snapshots (default: the last two)',
        security,
        params: key,
        querystring: snapshotDiffQuerySchema,
        response: { 200: snapshotDiffSchema },
      },
    },
    async (request) => diffSnapshots(stores, callerOf(request).workspaceId, request.params.key, { ...request.query, viewer: callerOf(request) }),
  );

  api.get(
    '/api/v1/segments/:key/export',
    {
      config: writers,
      schema: { tags, summary: 'The members as identifiers of one type (CSV: person_id, identifier)', security, params: key, querystring: segmentExportQuerySchema },
    },
    async (request, reply) => {
      const caller = callerOf(request);
      const { workspaceId, keyId } = caller;
      await getSegment(stores, workspaceId, request.params.key);
      await recordAudit(stores, workspaceId, keyId, 'export.segment', request.params.key, { identifierType: request.query.type });
      // Streamed as the rows come (millions of identifiers do not fit one reply body).
      reply.hijack();
      reply.raw.writeHead(200, { 'content-type': 'text/csv; charset=utf-8', 'content-disposition': `attachment; filename="${request.params.key}-${request.query.type}.csv"` });
      try {
        await exportSegment(stores, workspaceId, request.params.key, request.query.type, reply.raw, caller);
        reply.raw.end();
      } catch (error) {
        request.log.error(error);
        reply.raw.destroy(error as Error);
      }
    },
  );

  void app.register(async (scope) => {
    // The body is the file of identifiers (CSV or XLSX, a header row first).
    scope.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
    scope.withTypeProvider<ZodTypeProvider>().post(
      '/api/v1/segments/:key/list',
      {
        config: writers,
        bodyLimit: 1 << 30,
        schema: {
          tags,
          summary: 'Create (or replace the list of) a segment from a file of identifiers of one type; unmatched and bad rows are reported',
          security,
          params: key,
          querystring: listImportQuerySchema,
          response: { 200: listImportReportSchema },
        },
      },
      async (request) => {
        const { key: name } = request.params;
        return withUploadedFile(
          request.body,
          (file) =>
            importSegmentList(stores, callerOf(request).workspaceId, {
              key: name,
              name: { zh: request.query.zh ?? name, en: request.query.en ?? name },
              identifierType: request.query.type,
              file,
            }),
          stores.dataDir,
        );
      },
    );
  });
}
