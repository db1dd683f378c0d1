/** A backup as the API reports it (route in src/backup/http.ts; what a backup holds is in src/backup/manifest.ts). */
import { z } from 'zod';
import { isoTimeSchema } from './common.ts';

const tableRowsSchema = z.object({ table: z.string(), rows: z.number().int() });

export const backupResponseSchema = z.object({
  name: z.string(),
  directory: z.string().meta({ description: 'where the backup is, on the server host (under <data>/backups)' }),
  createdAt: isoTimeSchema,
  stateSnapshotAt: isoTimeSchema.meta({ description: 'the state store snapshot: every fact written before it is in the backup' }),
  seconds: z.number(),
  bytes: z.number().int(),
  migrations: z.object({ facts: z.array(z.number().int()), state: z.array(z.string()) }),
  tables: z.object({ facts: z.array(tableRowsSchema), state: z.array(tableRowsSchema) }),
});
