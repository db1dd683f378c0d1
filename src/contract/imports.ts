/** Imports in the API: a file posted with its kind and preset, the run that follows, and the rows it refused. */
import { z } from 'zod';
import { isoTimeSchema } from './common.ts';

/** What a file holds, each kind with its own layouts (presets). */
export const IMPORT_KINDS = ['orders', 'refunds', 'members', 'contacts', 'events', 'records', 'products'] as const;
export type ImportKind = (typeof IMPORT_KINDS)[number];

/** POST /api/v1/imports: the file is the body; what it is comes in the query. */
export const importQuerySchema = z.object({
  kind: z.enum(IMPORT_KINDS),
  preset: z.string().optional(),
  source: z.string().optional(),
  filename: z
    .string()
    .regex(/^[^/\\]{1,200}$/, 'a file name without a path')
    .default('upload.csv'),
});
/** 202: the run has started (or an interrupted run of the same file was resumed). */
export const importStartedSchema = z.object({ run: z.string(), resumed: z.boolean() });

export const importRunSchema = z.object({
  id: z.string(),
  kind: z.string(),
  source: z.string(),
  preset: z.string().nullable(),
  status: z.enum(['running', 'completed', 'failed']),
  rowsRead: z.number(),
  landed: z.number(),
  updated: z.number(),
  unchanged: z.number(),
  quarantined: z.number(),
  valuesDropped: z.number(),
  error: z.string().nullable(),
  startedAt: isoTimeSchema,
  finishedAt: isoTimeSchema.nullable(),
});
export type ImportRun = z.infer<typeof importRunSchema>;
export const importRunListSchema = z.object({ runs: z.array(importRunSchema) });

/** A row or value an import refused: where, what, why, and what was done (the row dropped, or only the value). */
export const quarantineRowSchema = z.object({ file: z.string(), row: z.number(), field: z.string(), value: z.string(), reason: z.string(), action: z.string() });
export type QuarantineRow = z.infer<typeof quarantineRowSchema>;
export const quarantineListSchema = z.object({ rows: z.array(quarantineRowSchema) });

export const importRunParamsSchema = z.object({ id: z.string() });
export const importRunListQuerySchema = z.object({ limit: z.coerce.number().int().min(1).max(500).default(50) });
export const quarantineQuerySchema = z.object({ limit: z.coerce.number().int().min(1).max(10_000).default(100) });
