/** The shapes the console reads from the API (see the route handlers under src/). */
export type { ApiKey, AuditEntry, Me, Role, Team, User } from '../../src/contract/access.ts';
export type { Explanation, IdentifierType, OneIdSettings, ResolveSummary, Review, SignKey } from '../../src/contract/identity.ts';
export type { Note, Overview, Person, PersonHit } from '../../src/contract/people.ts';
export type { TagDefinition, TagDetail, TagListItem, TagSchedule } from '../../src/contract/tags.ts';
export type { Task } from '../../src/contract/tasks.ts';
export type { Workspace } from '../../src/contract/workspaces.ts';

export interface Named {
  zh: string;
  en: string;
}

export type ValueOp = 'eq' | 'ne' | 'in' | 'between' | 'gt' | 'gte' | 'lt' | 'lte' | 'exists' | 'missing';
export type Scalar = string | number | boolean;
