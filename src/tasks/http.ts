/** Staff tasks over HTTP: the caller's list and marking one done. */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { callerOf } from '../access/auth.ts';
import type { Stores } from '../stores/stores.ts';
import { listTasks, setTaskStatus } from './tasks.ts';
import { taskChangeSchema, taskResponseSchema, tasksQuerySchema, tasksResponseSchema } from '../contract/tasks.ts';
import { maskText, seesPersonalData } from '../access/masking.ts';

export function taskRoutes(app: FastifyInstance, stores: Stores): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const security = [{ bearer: [] }];
  const tags = ['tasks'];
  const people = { roles: ['admin', 'operator', 'analyst', 'staff'] as const };
  api.get(
    '/api/v1/tasks',
    {
      config: people,
      schema: {
        tags,
        summary: 'Tasks for the people the caller sees (staff: their own customers), newest first',
        security,
        querystring: tasksQuerySchema,
        response: { 200: tasksResponseSchema },
      },
    },
    async (request) => {
      const caller = callerOf(request);
      const tasks = await listTasks(stores, caller, request.query);
      // A title is free text (a journey may write a name or a phone into it): masked by what it looks like for a masked role.
      return { tasks: seesPersonalData(caller.role) ? tasks : tasks.map((t) => ({ ...t, title: maskText(t.title) })) };
    },
  );
  api.post(
    '/api/v1/tasks/:id',
    {
      config: { roles: ['admin', 'operator', 'staff'] as const, scoped: true },
      schema: {
        tags,
        summary: 'Mark a task done, or open again',
        security,
        params: z.object({ id: z.coerce.number().int().positive() }),
        body: taskChangeSchema,
        response: { 200: taskResponseSchema },
      },
    },
    async (request) => ({ task: await setTaskStatus(stores, callerOf(request), request.params.id, request.body.status) }),
  );
}
