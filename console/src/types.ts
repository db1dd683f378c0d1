/** The shapes the console reads from the API (see the route handlers under src/). */

export type Role = 'admin' | 'operator' | 'analyst' | 'staff' | 'tracker';

export interface Workspace {
  id: string;
  slug: string;
  name: string;
  timeZone: string;
  createdAt: string;
}

export interface User {
  id: string;
  email: string;
  name: string;
  role: Role;
  disabled: boolean;
  createdAt: string;
  teamId?: string | null;
  staffUserId?: string | null;
  /** A generated first password: the console shows nothing but the page that replaces it. */
  mustChangePassword?: boolean;
}

export interface Team {
  id: string;
  name: string;
  sources: string[];
  createdAt?: string;
}

export interface Me {
  role: Role;
  user: User | null;
  apiKey: string | null;
  workspace: Workspace;
  scope?: { team: Team | null; staffUserId: string | null };
  permissions?: { personalData: boolean; workspaceChanges?: boolean };
}

export interface Named {
  zh: string;
  en: string;
}

export interface ImportRun {
  id: string;
  kind: string;
  source: string;
  preset: string | null;
  status: 'running' | 'completed' | 'failed';
  rowsRead: number;
  landed: number;
  updated: number;
  unchanged: number;
  quarantined: number;
  valuesDropped: number;
  error: string | null;
  startedAt: string;
  finishedAt: string | null;
}

export interface QuarantineRow {
  file: string;
  row: number;
  field: string;
  value: string;
  reason: string;
  action: string;
}

export interface IdentifierType {
  name: string;
  label: string;
  priority: number;
  singleValued: boolean;
  maxPeoplePerValue: number;
  parent?: string;
  normaliser: 'phone_cn' | 'email' | 'trim' | 'lower';
  strong: boolean;
}

export interface Review {
  id: number;
  recordA: string;
  recordB: string;
  probability: number;
  pattern: unknown;
  status: string;
  decidedBy: string | null;
  decidedAt: string | null;
}

export interface TagRun {
  id: string;
  baseDate: string;
  trigger: string;
  status: string;
  people: number;
  error: string | null;
  startedAt: string;
  seconds: number | null;
}

/** A tag definition as stored: common fields plus its kind's own. */
export interface TagDefinition {
  key: string;
  name: Named;
  kind: string;
  description?: string;
  dependsOn?: string[];
  [field: string]: unknown;
}

export interface TagListItem extends TagDefinition {
  valueType: string;
  lastRun: TagRun | null;
}

export interface TagDetail {
  tag: TagDefinition & { valueType: string };
  coverage: { baseDate: string | null; people: number; values: Array<{ value: string; people: number }> };
  runs: TagRun[];
}

export interface Overview {
  asOf: string;
  people: number;
  buyers: number;
  orders: number;
  gmv: number;
  repurchaseRate: number | null;
  lifecycle: Array<{ value: string; people: number }>;
  rfm: { r: string[]; f: string[]; cells: number[][] } | null;
  trend: Array<{ day: string; orders: number; gmv: number; buyers: number }>;
}

export interface PersonHit {
  personId: number;
  name: string | null;
  identifiers: Array<{ type: string; value: string }>;
  sources: string[];
}

export interface Person {
  personId: number;
  name: string | null;
  profile: Record<string, string>;
  identities: Array<{ type: string; value: string; sources: string[] }>;
  records: Array<{ source: string; kind: string; recordId: string; seenAt: string }>;
  sources?: string[];
  tags: Array<{ key: string; name: Named | string; type?: string; value: unknown; computedAt: string; setBy?: string; setByName?: string; setAt?: string }>;
  orders: Array<{
    source: string;
    orderId: string;
    status: string;
    orderedAt: string;
    amount: number;
    isPackage: boolean;
    lines: Array<{ sku: string; productName: string; category: string; quantity: number; amount: number }>;
    shipments: Array<{ period: number; plannedAt: string | null; shippedAt: string | null; status: string }>;
  }>;
  events: Array<{ event: string; type?: string; source?: string; timestamp: string; properties: unknown }>;
  messages: Array<{ planKey: string; step?: string; variant?: string; channel: string; status: string; at: string; detail: string | null }>;
  tasks: Task[];
  consents: Array<{ channel: string; status: string; source?: string; at: string }>;
  /** Newest first (a server without notes leaves it out). */
  notes?: Note[];
}

/** A note on a person (备注). */
export interface Note {
  id: number;
  text: string;
  author: string;
  authorName: string;
  createdAt: string;
}

/** What a OneID correction (unbind, unmerge) did. */
export interface ResolveSummary {
  runId: string;
  records: number;
  people: number;
  newPeople: number;
  merges: number;
  splits: number;
  [field: string]: unknown;
}

export interface Task {
  id: number;
  personId?: number;
  source: string;
  title: string;
  status: 'open' | 'done';
  createdAt: string;
  closedAt: string | null;
}

export interface OneIdSettings {
  fuzzy: boolean;
  autoMerge: boolean;
  mergeAt: number;
  reviewAt: number;
  maxBlock: number;
}

export interface Explanation {
  personId: number;
  records: Array<{ source: string; kind: string; record_id: string; name: string; identifiers: Array<{ type: string; value: string }> }>;
  links: Array<{ type: string; value: string; records: string[] }>;
  history: Array<{ kind: string; at: string; details: unknown }>;
  masked: boolean;
}

export type ValueOp = 'eq' | 'ne' | 'in' | 'between' | 'gt' | 'gte' | 'lt' | 'lte' | 'exists' | 'missing';
export type Scalar = string | number | boolean;
export type Window = { days: number } | { from: string; to: string };

/** A segment condition (src/segments/definition.ts); others are kept as they are. */
export type Condition =
  | { type: 'group'; match: 'all' | 'any'; conditions: Condition[] }
  | { type: 'not'; condition: Condition }
  | { type: 'tag'; tag: string; op: ValueOp; value?: Scalar | Scalar[]; asOf?: string }
  | { type: 'profile'; field: string; op: ValueOp; value?: Scalar | Scalar[] }
  | { type: 'identifier'; identifierType: string }
  | { type: 'event'; event: string; where?: unknown[]; count?: { min?: number; max?: number }; window: Window }
  | { type: 'orders'; skus?: string[]; categories?: string[]; sources?: string[]; count?: { min?: number; max?: number }; amount?: { min?: number; max?: number }; window?: Window }
  | { type: 'segment'; segment: string }
  | { type: 'sequence' | 'sample' | 'list'; [field: string]: unknown };

export interface Tree {
  match: 'all' | 'any';
  conditions: Condition[];
}

export interface Segment extends Tree {
  key: string;
  name: Named;
  description?: string;
  snapshots?: { afterTagRuns: boolean; keep: number };
}

export interface Snapshot {
  id: string;
  segment: string;
  trigger: string;
  people: number;
  evaluatedFor: string;
  takenAt: string;
}

export interface SegmentCount {
  estimate: { estimate: number; low: number; high: number; slice: number; seconds: number };
  exact: { people: number; seconds: number; method: string } | null;
}

export interface Insights {
  people: number;
  base: number;
  share: number;
  tags: Array<{
    key: string;
    name: Named;
    type: string;
    baseDate: string;
    summary?: Record<string, number>;
    values?: Array<{ value: string; inside: number; shareInside: number; base: number; shareBase: number; lift: number | null }>;
  }>;
}

export interface Channel {
  key: string;
  name?: string;
  kind: string;
  address?: string | null;
  consent: string;
  costPerMessage: number;
  ratePerMinute: number;
  concurrency: number;
  config: Record<string, unknown>;
}

export interface Variant {
  key: string;
  weight?: number;
  template: Record<string, string>;
}

export interface Goal {
  kind: 'order' | 'event';
  event?: string;
  skus?: string[];
  categories?: string[];
  windowDays?: number;
}

export interface Plan {
  key: string;
  name: string;
  audience: { segment?: string; exclude?: string[]; excludeConvertedDays?: number };
  channel: string;
  purpose?: 'marketing' | 'transactional';
  variants: Variant[];
  controlPercent?: number;
  goal?: Goal;
  schedule: { kind: 'once'; at?: string } | { kind: 'recurring'; cron: string; enterOnce?: boolean; until?: string } | { kind: 'triggered'; event: string; [field: string]: unknown };
}

export type PlanStatus = 'draft' | 'scheduled' | 'running' | 'paused' | 'completed';

export interface PlanInfo {
  plan: Plan;
  status: PlanStatus;
  nextRunAt: string | null;
  updatedAt: string;
}

export interface Interval {
  low: number;
  high: number;
}

export interface GroupReport {
  group: string;
  audience: number;
  stopped: number;
  eligible: number;
  sent: number;
  delivered: number;
  failed: number;
  clicked: number;
  converted: number;
  revenue: number;
  conversionRate: number | null;
  lift: { absolute: number; absoluteCi: Interval; relative: number | null; relativeCi: Interval | null } | null;
  cost: number;
  costPerConversion: number | null;
  costPerIncrementalConversion: number | null;
}

export interface PlanReport {
  plan: string;
  status: string;
  goal: string | null;
  runs: Array<{ id: string; slot: string; status: string; audience: number | null; startedAt: string; finishedAt: string | null; error: string | null }>;
  groups: GroupReport[];
  stoppedBy: Array<{ reason: string; people: number }>;
  ledger: Record<string, number>;
}

/** A journey step (src/journeys/definition.ts). */
export type JourneyStep =
  | { type: 'send'; channel: string; purpose?: string; template: Record<string, string>; next?: string }
  | { type: 'wait'; minutes?: number; hours?: number; days?: number; untilTime?: string; untilDate?: { tag?: string; profile?: string; annual?: boolean; offsetDays?: number }; next?: string }
  | { type: 'branch'; match?: 'all' | 'any'; conditions: unknown[]; yes: string; no: string }
  | { type: 'split'; branches: Array<{ weight: number; next: string }> }
  | { type: 'tag'; tag: string; value?: unknown; remove?: boolean; next?: string }
  | { type: 'task'; title: string; next?: string }
  | { type: 'exit' };

export interface Journey {
  key: string;
  name: string;
  entry: { segment: string } | { event: string };
  first: string;
  steps: Record<string, JourneyStep>;
  controlPercent?: number;
  goal?: Goal;
}

export interface JourneyInfo {
  journey: Journey;
  status: string;
  runId: string | null;
}

/** GET /api/v1/journeys/:key: the journey and how many people are at each step (active) or ended there (done). */
export interface JourneyDetail extends JourneyInfo {
  positions: Array<{ step: string; status: 'active' | 'done' | string; people: number }>;
}

/** The workspace's tag schedule (GET /api/v1/tags/schedule), times as ISO and as the zone's wall clock. */
export interface TagSchedule {
  workspaceId: string;
  cron: string;
  timeZone: string;
  enabled: boolean;
  nextAt: string;
  nextAtLocal: string;
  lastStartedAt: string | null;
  lastStartedAtLocal: string | null;
  lastBaseDate: string | null;
  updatedAt: string | null;
}

/** A workspace API key as listed (never its secret). */
export interface ApiKey {
  id: string;
  workspaceId: string;
  name: string;
  prefix: string;
  role: Role;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
  /** A tracker key's allowed page origins; null: any. */
  allowedOrigins: string[] | null;
}

/** A key the brand's server signs customers' identities with (never its secret). */
export interface SignKey {
  id: string;
  name: string;
  createdBy: string;
  createdAt: string;
  revokedAt: string | null;
}

export interface Policy {
  caps: Array<{ channels: string[]; windowHours: number; max: number }>;
  quietHours: { start: string; end: string; action: 'delay' | 'drop' } | null;
  testWhitelist: number[];
}

export interface AuditEntry {
  id: number;
  actor: string;
  action: string;
  target: string;
  details: unknown;
  at: string;
}
