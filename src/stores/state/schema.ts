import type { ColumnType, Generated } from 'kysely';

/** Kysely's view of the state store's tables. Each domain adds its tables here with its migration. */
export interface StateDatabase {
  workspaces: WorkspacesTable;
  api_keys: ApiKeysTable;
  import_runs: ImportRunsTable;
  identifier_types: IdentifierTypesTable;
  identity_log: IdentityLogTable;
  identity_overrides: IdentityOverridesTable;
  identity_reviews: IdentityReviewsTable;
  tag_definitions: TagDefinitionsTable;
  tag_runs: TagRunsTable;
  manual_tag_values: ManualTagValuesTable;
  tag_schedules: TagSchedulesTable;
  segments: SegmentsTable;
  segment_snapshots: SegmentSnapshotsTable;
  channels: ChannelsTable;
  policies: PoliciesTable;
  consents: ConsentsTable;
  plans: PlansTable;
  plan_runs: PlanRunsTable;
  deliveries: DeliveriesTable;
  secrets: SecretsTable;
  /** PIPL erasure: the workspace's salt, the salted hashes of erased identifiers, the erased person ids. */
  erasure_salts: { workspace_id: string; salt: string };
  erased_identifiers: { workspace_id: string; hash: string; erased_at: ColumnType<Date, Date | undefined, never> };
  erased_people: { workspace_id: string; person_id: ColumnType<number, number, number>; erased_at: ColumnType<Date, Date | undefined, never> };
  identity_sign_keys: IdentitySignKeysTable;
  link_keys: { workspace_id: string; secret: string };
  journeys: {
    workspace_id: string;
    key: string;
    definition: Json;
    status: ColumnType<'draft' | 'running' | 'paused', 'draft' | 'running' | 'paused' | undefined>;
    run_id: string | null;
    entry_checked_at: NullableTimestamp;
    created_at: ColumnType<Date, Date | undefined, never>;
    updated_at: Timestamp;
  };
  journey_positions: {
    workspace_id: string;
    journey_key: string;
    person_id: ColumnType<number, number, number>;
    step: string;
    status: 'active' | 'done';
    due_at: Timestamp;
    lease_until: NullableTimestamp;
    entered_at: Timestamp;
    updated_at: Timestamp;
  };
  staff_tasks: {
    id: Generated<number>;
    workspace_id: string;
    person_id: ColumnType<number, number, number>;
    /** What made it, e.g. journey:welcome:call_step (one task per person and source). */
    source: string;
    title: string;
    status: ColumnType<'open' | 'done', 'open' | 'done' | undefined>;
    created_at: ColumnType<Date, Date | undefined, never>;
    closed_at: NullableTimestamp;
  };
  users: {
    id: string;
    workspace_id: string;
    email: string;
    name: string;
    role: string;
    password_hash: string;
    disabled_at: NullableTimestamp;
    created_at: ColumnType<Date, Date | undefined, never>;
    password_changed_at: Timestamp;
    team_id: ColumnType<string | null, string | null | undefined, string | null>;
    staff_userid: ColumnType<string | null, string | null | undefined, string | null>;
    /** Set for a generated first password: the session may do nothing but change it. */
    must_change_password: ColumnType<boolean, boolean | undefined, boolean>;
  };
  login_throttle: { key: string; failures: number; last_failure_at: Timestamp; blocked_until: NullableTimestamp };
  behaviour_event_bits: { workspace_id: string; event: string; bit: number };
  person_notes: {
    id: Generated<number>;
    workspace_id: string;
    person_id: ColumnType<number, number, number>;
    author: string;
    author_name: string;
    text: string;
    created_at: ColumnType<Date, Date | undefined, never>;
  };
  oneid_settings: { workspace_id: string; fuzzy: boolean; auto_merge: boolean; merge_at: number; review_at: number; max_block: number; updated_at: Timestamp };
  teams: { id: string; workspace_id: string; name: string; sources: string[]; created_at: ColumnType<Date, Date | undefined, never> };
  sessions: { token_hash: string; user_id: string; created_at: ColumnType<Date, Date | undefined, never>; expires_at: Timestamp };
  audit_log: {
    id: Generated<number>;
    workspace_id: string;
    actor: string;
    action: string;
    target: string;
    details: Json;
    at: ColumnType<Date, Date | undefined, never>;
  };
  tracked_links: { id: string; workspace_id: string; plan_key: string; run_id: string; variant: string; channel: string; url: string };
}

type Json = ColumnType<unknown, string, string>;
type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;

/** A channel as configured (zod-checked JSON; secrets are named environment variables, never stored). */
export interface ChannelsTable {
  workspace_id: string;
  key: string;
  kind: string;
  definition: Json;
  created_at: ColumnType<Date, Date | undefined, never>;
  updated_at: Timestamp;
}

export interface PoliciesTable {
  workspace_id: string;
  definition: Json;
  updated_at: Timestamp;
}

export interface ConsentsTable {
  workspace_id: string;
  person_id: ColumnType<number, number, number>;
  /** A channel key, or '*' for every channel. */
  channel: string;
  status: 'granted' | 'revoked';
  source: string;
  updated_at: Timestamp;
}

export interface PlansTable {
  workspace_id: string;
  key: string;
  definition: Json;
  status: ColumnType<'draft' | 'scheduled' | 'running' | 'paused' | 'completed', 'draft' | 'scheduled' | 'running' | 'paused' | 'completed' | undefined>;
  next_run_at: NullableTimestamp;
  triggers_checked_until: NullableTimestamp;
  created_at: ColumnType<Date, Date | undefined, never>;
  updated_at: Timestamp;
}

export interface PlanRunsTable {
  id: string;
  workspace_id: string;
  plan_key: string;
  slot: string;
  status: 'enqueuing' | 'dispatching' | 'completed' | 'failed';
  audience: ColumnType<number | null, number | null | undefined, number | null>;
  /** The highest person id already written to the ledger: an interrupted enqueue resumes after it. */
  enqueued_through: ColumnType<number | null, number | null | undefined, number | null>;
  enqueue_lease_until: NullableTimestamp;
  error: string | null;
  started_at: ColumnType<Date, Date | undefined, never>;
  enqueued_at: NullableTimestamp;
  finished_at: NullableTimestamp;
}

/** 'queued' includes a message being sent now (its lease is live). */
export type DeliveryStatus = 'queued' | 'sent' | 'delivered' | 'failed' | 'parked' | 'stopped' | 'control';

export interface DeliveriesTable {
  id: Generated<number>;
  workspace_id: string;
  plan_key: string;
  run_id: string;
  person_id: ColumnType<number, number, number>;
  step: string;
  variant: string;
  channel: string;
  purpose: 'marketing' | 'transactional';
  status: DeliveryStatus;
  /** Why it was stopped, failed or parked (the policy rule, the platform's error). */
  reason: string | null;
  attempts: ColumnType<number, number | undefined, number>;
  address: string | null;
  content: ColumnType<unknown, string | null | undefined, string | null>;
  provider_id: string | null;
  entered_at: Timestamp;
  next_attempt_at: NullableTimestamp;
  lease_until: NullableTimestamp;
  sent_at: NullableTimestamp;
  updated_at: Timestamp;
}

/** A segment's membership taken at a moment (the members are in the facts store). */
export interface SegmentSnapshotsTable {
  id: string;
  workspace_id: string;
  segment_key: string;
  trigger: string;
  people: ColumnType<number, number, number>;
  evaluated_for: ColumnType<Date | string, string, string>;
  taken_at: ColumnType<Date, Date | undefined, never>;
}

/** A segment's definition (zod-checked JSON). */
export interface SegmentsTable {
  workspace_id: string;
  key: string;
  definition: ColumnType<unknown, string, string>;
  created_at: ColumnType<Date, Date | undefined, never>;
  updated_at: ColumnType<Date, Date | undefined, Date>;
}

/** A workspace's tag schedule: a cron read in the workspace's time zone; next_at is the slot to claim. */
export interface TagSchedulesTable {
  workspace_id: string;
  cron: string;
  enabled: ColumnType<boolean, boolean | undefined, boolean>;
  next_at: Date;
  last_started_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  last_base_date: ColumnType<Date | string | null, string | null | undefined, string | null>;
  updated_at: ColumnType<Date | null, Date | undefined, Date>;
}

/** A value staff set on a person for a manual tag. */
export interface ManualTagValuesTable {
  workspace_id: string;
  tag_key: string;
  person_id: ColumnType<number, number, number>;
  value: ColumnType<unknown, string, string>;
  set_by: string;
  set_at: ColumnType<Date, Date | undefined, Date>;
}

/** A tag's definition (zod-checked JSON); which run's values are current follows from tag_runs. */
export interface TagDefinitionsTable {
  workspace_id: string;
  key: string;
  definition: ColumnType<unknown, string, string>;
  created_at: CreatedAt;
  updated_at: ColumnType<Date, Date | undefined, Date>;
}

/** One computation of one tag: `completed` (its values are the current ones), `kept` (empty, the last values stay), `failed`. */
export interface TagRunsTable {
  id: string;
  workspace_id: string;
  tag_key: string;
  base_date: ColumnType<Date | string, string, string>;
  trigger: 'manual' | 'schedule' | 'import';
  status: 'running' | 'completed' | 'kept' | 'failed';
  people: ColumnType<number, number | undefined, number>;
  error: string | null;
  started_at: CreatedAt;
  finished_at: Date | null;
  /** What the run worked with (a model tag's fitted parameters). */
  details: ColumnType<unknown, string | null | undefined, string | null>;
}

/** Borderline probabilistic matches waiting for a person to accept or reject. */
export interface IdentityReviewsTable {
  id: Generated<number>;
  workspace_id: string;
  run_id: string;
  /** "source:kind:record_id" of each record. */
  record_a: string;
  record_b: string;
  probability: number;
  pattern: ColumnType<unknown, string, string>;
  status: 'pending' | 'accepted' | 'rejected';
  decided_by: string | null;
  decided_at: Date | null;
  created_at: CreatedAt;
}

/** Operators' corrections that every resolution honours: an unbound value, an unmerged record group. */
export interface IdentityOverridesTable {
  id: Generated<number>;
  workspace_id: string;
  kind: 'unbind' | 'partition' | 'link';
  type: string | null;
  value: string | null;
  record_source: string | null;
  record_kind: string | null;
  record_id: string | null;
  label: string | null;
  person_id: number | null;
  actor: string;
  created_at: CreatedAt;
}

/** What OneID did and why: merges, splits, hub values, single-value conflicts. */
export interface IdentityLogTable {
  id: Generated<number>;
  workspace_id: string;
  run_id: string;
  kind: 'merge' | 'split' | 'hub' | 'conflict' | 'unbind' | 'unmerge' | 'review';
  person_id: number | null;
  details: ColumnType<unknown, string, string>;
  at: CreatedAt;
}

export interface ImportRunsTable {
  id: string;
  workspace_id: string;
  kind: string;
  source: string;
  preset: string | null;
  /** Hash of the files' names, sizes and first bytes: the same command on the same files resumes its run. */
  fingerprint: string;
  files: ColumnType<unknown, string, string>;
  status: 'running' | 'completed' | 'failed';
  pid: number | null;
  rows_read: ColumnType<number, number | undefined, number>;
  landed: ColumnType<number, number | undefined, number>;
  updated: ColumnType<number, number | undefined, number>;
  unchanged: ColumnType<number, number | undefined, number>;
  quarantined: ColumnType<number, number | undefined, number>;
  values_dropped: ColumnType<number, number | undefined, number>;
  attempts: ColumnType<number, number | undefined, number>;
  error: string | null;
  started_at: CreatedAt;
  finished_at: Date | null;
  /** The import's options as asked ({preset, source, mapping}); null for runs before it was kept. */
  request: ColumnType<unknown, string | null | undefined, string | null>;
}

export interface IdentifierTypesTable {
  workspace_id: string;
  name: string;
  definition: ColumnType<unknown, string, string>;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

type CreatedAt = ColumnType<Date, Date | string | undefined, never>;

export interface WorkspacesTable {
  id: string;
  slug: string;
  name: string;
  time_zone: string;
  created_at: CreatedAt;
}

export interface ApiKeysTable {
  id: string;
  workspace_id: string;
  name: string;
  /** The public part of the key, shown in listings and used to find the row. */
  prefix: string;
  /** SHA-256 of the secret part (256 random bits, so a slow hash adds nothing); the secret is never stored. */
  secret_hash: string;
  role: string;
  created_at: CreatedAt;
  last_used_at: Date | null;
  revoked_at: Date | null;
  seq: Generated<number>;
  /** A tracker key's allowed page origins (JSON array); null: any origin. */
  allowed_origins: string | null;
}

/** A workspace's secret, sealed with AES-256-GCM under the master key `key_id` (base64 iv and ciphertext+tag). */
export interface SecretsTable {
  workspace_id: string;
  name: string;
  key_id: string;
  iv: string;
  ciphertext: string;
  /** What listings show instead of the value: `••••` and at most its last 4 characters. */
  hint: string;
  updated_by: string;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

/** Keys the brand's server signs identities with (HS256); the secret itself is in `secrets` as signkey.<id>. */
export interface IdentitySignKeysTable {
  id: string;
  workspace_id: string;
  name: string;
  created_by: string;
  created_at: CreatedAt;
  revoked_at: Date | null;
}
