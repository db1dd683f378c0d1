/** Staff tasks (routes in src/tasks/http.ts). */
import { z } from 'zod';
import { isoTimeSchema } from './common.ts';

const taskStatusSchema = z.enum(['open', 'done']);
export const taskSchema = z.object({
  id: z.number(),
  personId: z.number(),
  source: z.string().describe('what made it: a journey step, a person in the console, …'),
  title: z.string().describe('free text: masked by what it looks like for a role without personal data'),
  status: taskStatusSchema,
  createdAt: isoTimeSchema,
  closedAt: isoTimeSchema.nullable(),
});
export type Task = z.infer<typeof taskSchema>;
export const tasksResponseSchema = z.object({ tasks: z.array(taskSchema) });
export const taskResponseSchema = z.object({ task: taskSchema });
export const tasksQuerySchema = z.object({ status: taskStatusSchema.optional(), limit: z.coerce.number().int().min(1).max(1000).default(100) });
export const taskChangeSchema = z.object({ status: taskStatusSchema }).strict();
