import { ConflictError, NotFoundError } from '../kernel/errors.ts';
import crypto from 'node:crypto';
import { z } from 'zod';
import type { StateStore } from '../stores/state/state-store.ts';

import type { Workspace } from '../contract/workspaces.ts';
import { isValidTimeZone, isoTime } from '../kernel/time.ts';
export type { Workspace };

export const createWorkspaceInput = z.object({
  slug: z.string().regex(/^[a-z0-9][a-z0-9-]{1,62}$/, 'must be 2–63 lower-case letters, digits or dashes, starting with a letter or digit'),
  name: z.string().min(1).max(200),
  timeZone: z
    .string()
    .default('Asia/Shanghai')
    .refine((tz) => isValidTimeZone(tz), 'must be an IANA time zone such as Asia/Shanghai'),
});
export type CreateWorkspaceInput = z.input<typeof createWorkspaceInput>;
export const workspaceChange = z
  .object({
    name: z.string().min(1).max(200).optional(),
    timeZone: z
      .string()
      .refine((tz) => isValidTimeZone(tz), 'must be an IANA time zone such as Asia/Shanghai')
      .optional(),
  })
  .strict();
export type WorkspaceChange = z.input<typeof workspaceChange>;

export class WorkspaceService {
  private readonly state: StateStore;
  constructor(state: StateStore) {
    this.state = state;
  }

  async create(input: CreateWorkspaceInput): Promise<Workspace> {
    const data = createWorkspaceInput.parse(input);
    const existing = await this.state.db.selectFrom('workspaces').select('id').where('slug', '=', data.slug).executeTakeFirst();
    if (existing) throw new ConflictError(`workspace "${data.slug}" exists already`);
    const row = await this.state.db
      .insertInto('workspaces')
      .values({ id: `ws_${crypto.randomBytes(8).toString('hex')}`, slug: data.slug, name: data.name, time_zone: data.timeZone })
      .returningAll()
      .executeTakeFirstOrThrow();
    return toWorkspace(row);
  }

  async list(): Promise<Workspace[]> {
    const rows = await this.state.db.selectFrom('workspaces').selectAll().orderBy('created_at').execute();
    return rows.map(toWorkspace);
  }

  async get(id: string): Promise<Workspace> {
    const row = await this.state.db.selectFrom('workspaces').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw new NotFoundError(`workspace ${id} not found`);
    return toWorkspace(row);
  }

  /** Renames the workspace or moves it to another time zone (relative dates, quiet hours and schedules follow). */
  async update(id: string, change: WorkspaceChange): Promise<Workspace> {
    const data = workspaceChange.parse(change);
    await this.get(id);
    if (data.name !== undefined || data.timeZone !== undefined) {
      await this.state.db
        .updateTable('workspaces')
        .set({ ...(data.name !== undefined ? { name: data.name } : {}), ...(data.timeZone !== undefined ? { time_zone: data.timeZone } : {}) })
        .where('id', '=', id)
        .execute();
    }
    return this.get(id);
  }

  /** Finds a workspace by slug or id; with none given, the only workspace (or an error naming the choices). */
  async resolve(slugOrId?: string): Promise<Workspace> {
    const all = await this.list();
    if (slugOrId) {
      const found = all.find((w) => w.slug === slugOrId || w.id === slugOrId);
      if (!found) throw new NotFoundError(`no workspace "${slugOrId}" (have: ${all.map((w) => w.slug).join(', ') || 'none'})`);
      return found;
    }
    if (all.length === 1) return all[0];
    if (all.length === 0) throw new NotFoundError('no workspace yet: run `siyu start` once or `siyu workspace create`');
    throw new NotFoundError(`several workspaces exist; choose one with --workspace (${all.map((w) => w.slug).join(', ')})`);
  }
}

function toWorkspace(row: { id: string; slug: string; name: string; time_zone: string; created_at: Date | string }): Workspace {
  return { id: row.id, slug: row.slug, name: row.name, timeZone: row.time_zone, createdAt: isoTime(row.created_at) };
}
