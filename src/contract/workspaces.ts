/** The caller's workspace (routes in src/workspaces/http.ts; its API keys are in access.ts). */
import { z } from 'zod';
import { isoTimeSchema } from './common.ts';

export const workspaceSchema = z.object({
  id: z.string(),
  slug: z.string(),
  name: z.string(),
  timeZone: z.string(),
  createdAt: isoTimeSchema,
});
export type Workspace = z.infer<typeof workspaceSchema>;
