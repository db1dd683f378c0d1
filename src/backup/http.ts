/**
 * Backups over HTTP: the server holds the embedded stores, so a backup while it runs is taken here.
 * A backup holds every workspace, so only an admin of the instance's first workspace (the one the
 * server created at its first start) may take one; admins of the other workspaces (tenants) may not.
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { callerOf } from '../access/auth.ts';
import { ApiError } from '../kernel/errors.ts';
import { backupResponseSchema } from '../contract/backups.ts';
import type { Stores } from '../stores/stores.ts';
import { BackupInProgressError, refuseServerEngines, takeBackup } from './backup.ts';
import { BackupRefusedError } from './manifest.ts';

const admins = { roles: ['admin'] as const };

/** The workspace that owns the instance: the first one created. */
async function instanceWorkspaceId(stores: Stores): Promise<string | undefined> {
  const first = await stores.state.db.selectFrom('workspaces').select('id').orderBy('created_at').orderBy('id').limit(1).executeTakeFirst();
  return first?.id;
}

export function backupRoutes(app: FastifyInstance, stores: Stores): void {
  app.withTypeProvider<ZodTypeProvider>().post(
    '/api/v1/admin/backups',
    {
      config: admins,
      schema: {
        tags: ['backups'],
        summary: 'Take a consistent backup of both embedded stores into <data>/backups on the server host (admins of the first workspace)',
        security: [{ bearer: [] }],
        response: { 200: backupResponseSchema },
      },
    },
    async (request) => {
      const caller = callerOf(request);
      try {
        // Said first: it tells nothing about the instance but that it runs on servers.
        refuseServerEngines(stores.facts.engine, stores.state.engine);
      } catch (error) {
        throw new ApiError(400, 'backup_not_supported', (error as Error).message);
      }
      if (caller.workspaceId !== (await instanceWorkspaceId(stores))) {
        throw new ApiError(403, 'forbidden', 'a backup holds every workspace: only an admin of the first workspace (the one the server created) may take one');
      }
      try {
        const { name, directory, manifest, seconds } = await takeBackup(stores);
        return {
          name,
          directory,
          createdAt: manifest.createdAt,
          stateSnapshotAt: manifest.stateSnapshotAt,
          seconds,
          bytes: manifest.files.reduce((sum, file) => sum + file.bytes, 0),
          migrations: manifest.migrations,
          tables: manifest.tables,
        };
      } catch (error) {
        if (error instanceof BackupInProgressError) throw new ApiError(409, 'conflict', error.message);
        if (error instanceof BackupRefusedError) throw new ApiError(400, 'backup_not_supported', error.message);
        throw error;
      }
    },
  );
}
