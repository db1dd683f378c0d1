import { sql, type Kysely } from 'kysely';
import { Migrator, type Migration, type MigrationProvider } from 'kysely/migration';
import { normaliseRuleConditions, ruleConditionTrees } from './legacy-rule-conditions.ts';

/**
 * State-store migrations, applied in order at start (Kysely's migrator records them in
 * `kysely_migration` and takes a lock, so several API processes may start at once on PostgreSQL).
 */
const MIGRATIONS: Record<string, Migration> = {
  '0001_workspaces_api_keys': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('workspaces')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('slug', 'text', (c) => c.notNull().unique())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('time_zone', 'text', (c) => c.notNull().defaultTo('Asia/Shanghai'))
        .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .execute();
      await db.schema
        .createTable('api_keys')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('seq', 'serial', (c) => c.notNull())
        .addColumn('workspace_id', 'text', (c) => c.notNull().references('workspaces.id').onDelete('cascade'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('prefix', 'text', (c) => c.notNull().unique())
        .addColumn('secret_hash', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull().defaultTo('admin'))
        .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addColumn('last_used_at', 'timestamptz')
        .addColumn('revoked_at', 'timestamptz')
        .execute();
      await db.schema.createIndex('api_keys_workspace').on('api_keys').column('workspace_id').execute();
    },
  },
  '0002_import_runs_identifier_types': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('import_runs')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('workspace_id', 'text', (c) => c.notNull().references('workspaces.id').onDelete('cascade'))
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('preset', 'text')
        .addColumn('fingerprint', 'text', (c) => c.notNull())
        .addColumn('files', 'jsonb', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('pid', 'integer')
        .addColumn('rows_read', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('landed', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('updated', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('unchanged', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('quarantined', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('values_dropped', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(1))
        .addColumn('error', 'text')
        .addColumn('started_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addColumn('finished_at', 'timestamptz')
        .execute();
      await db.schema.createIndex('import_runs_workspace_started').on('import_runs').columns(['workspace_id', 'started_at']).execute();
      await db.schema.createIndex('import_runs_fingerprint').on('import_runs').columns(['workspace_id', 'fingerprint']).execute();
      await db.schema
        .createTable('identifier_types')
        .addColumn('workspace_id', 'text', (c) => c.notNull().references('workspaces.id').onDelete('cascade'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('definition', 'jsonb', (c) => c.notNull())
        .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addPrimaryKeyConstraint('identifier_types_pk', ['workspace_id', 'name'])
        .execute();
    },
  },
  '0003_identity_log': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('identity_log')
        .addColumn('id', 'bigserial', (c) => c.primaryKey())
        .addColumn('workspace_id', 'text', (c) => c.notNull().references('workspaces.id').onDelete('cascade'))
        .addColumn('run_id', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('person_id', 'bigint')
        .addColumn('details', 'jsonb', (c) => c.notNull())
        .addColumn('at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .execute();
      await db.schema.createIndex('identity_log_person').on('identity_log').columns(['workspace_id', 'person_id']).execute();
      await db.schema.createIndex('identity_log_kind').on('identity_log').columns(['workspace_id', 'kind', 'at']).execute();
    },
  },
  '0004_identity_overrides': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('identity_overrides')
        .addColumn('id', 'bigserial', (c) => c.primaryKey())
        .addColumn('workspace_id', 'text', (c) => c.notNull().references('workspaces.id').onDelete('cascade'))
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('type', 'text')
        .addColumn('value', 'text')
        .addColumn('record_source', 'text')
        .addColumn('record_kind', 'text')
        .addColumn('record_id', 'text')
        .addColumn('label', 'text')
        .addColumn('person_id', 'bigint')
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .execute();
      await db.schema.createIndex('identity_overrides_workspace').on('identity_overrides').columns(['workspace_id', 'kind']).execute();
    },
  },
  '0005_identity_reviews': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('identity_reviews')
        .addColumn('id', 'bigserial', (c) => c.primaryKey())
        .addColumn('workspace_id', 'text', (c) => c.notNull().references('workspaces.id').onDelete('cascade'))
        .addColumn('run_id', 'text', (c) => c.notNull())
        .addColumn('record_a', 'text', (c) => c.notNull())
        .addColumn('record_b', 'text', (c) => c.notNull())
        .addColumn('probability', 'double precision', (c) => c.notNull())
        .addColumn('pattern', 'jsonb', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull().defaultTo('pending'))
        .addColumn('decided_by', 'text')
        .addColumn('decided_at', 'timestamptz')
        .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addUniqueConstraint('identity_reviews_pair', ['workspace_id', 'record_a', 'record_b'])
        .execute();
    },
  },
  '0006_import_runs_request': {
    async up(db: Kysely<unknown>) {
      // What the import was asked (preset, source, mapping): an interrupted upload is resumed with it.
      await db.schema.alterTable('import_runs').addColumn('request', 'jsonb').execute();
    },
  },
  '0007_tags': {
    async up(db: Kysely<unknown>) {
      // A tag's definition; its values live in the facts store, one set per run.
      await db.schema
        .createTable('tag_definitions')
        .addColumn('workspace_id', 'text', (c) => c.notNull().references('workspaces.id').onDelete('cascade'))
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('definition', 'jsonb', (c) => c.notNull())
        .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addPrimaryKeyConstraint('tag_definitions_pk', ['workspace_id', 'key'])
        .execute();
      await db.schema
        .createTable('tag_runs')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('workspace_id', 'text', (c) => c.notNull().references('workspaces.id').onDelete('cascade'))
        .addColumn('tag_key', 'text', (c) => c.notNull())
        .addColumn('base_date', 'date', (c) => c.notNull())
        .addColumn('trigger', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('people', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('error', 'text')
        .addColumn('started_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addColumn('finished_at', 'timestamptz')
        .execute();
      await db.schema.createIndex('tag_runs_tag').on('tag_runs').columns(['workspace_id', 'tag_key', 'base_date']).execute();
    },
  },
  '0008_tag_run_details': {
    async up(db: Kysely<unknown>) {
      // What a run worked with: a model tag keeps its fitted parameters, so each prediction can be explained.
      await db.schema.alterTable('tag_runs').addColumn('details', 'jsonb').execute();
    },
  },
  '0009_manual_tag_values': {
    async up(db: Kysely<unknown>) {
      // Values staff set on people, with who and when; a run of the tag publishes them.
      await db.schema
        .createTable('manual_tag_values')
        .addColumn('workspace_id', 'text', (c) => c.notNull().references('workspaces.id').onDelete('cascade'))
        .addColumn('tag_key', 'text', (c) => c.notNull())
        .addColumn('person_id', 'bigint', (c) => c.notNull())
        .addColumn('value', 'jsonb', (c) => c.notNull())
        .addColumn('set_by', 'text', (c) => c.notNull())
        .addColumn('set_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addPrimaryKeyConstraint('manual_tag_values_pk', ['workspace_id', 'tag_key', 'person_id'])
        .execute();
    },
  },
  '0010_tag_schedules': {
    async up(db: Kysely<unknown>) {
      // One cron schedule per workspace (read in its time zone); a slot is claimed by moving next_at.
      await db.schema
        .createTable('tag_schedules')
        .addColumn('workspace_id', 'text', (c) => c.primaryKey().references('workspaces.id').onDelete('cascade'))
        .addColumn('cron', 'text', (c) => c.notNull())
        .addColumn('enabled', 'boolean', (c) => c.notNull().defaultTo(true))
        .addColumn('next_at', 'timestamptz', (c) => c.notNull())
        .addColumn('last_started_at', 'timestamptz')
        .addColumn('last_base_date', 'date')
        .addColumn('updated_at', 'timestamptz', (c) => c.defaultTo(sql`now()`))
        .execute();
    },
  },
  '0011_segments': {
    async up(db: Kysely<unknown>) {
      // Audience definitions: a tree of conditions per workspace, compiled to SQL when counted.
      await db.schema
        .createTable('segments')
        .addColumn('workspace_id', 'text', (c) => c.notNull().references('workspaces.id').onDelete('cascade'))
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('definition', 'jsonb', (c) => c.notNull())
        .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addPrimaryKeyConstraint('segments_pk', ['workspace_id', 'key'])
        .execute();
    },
  },
  '0012_segment_snapshots': {
    async up(db: Kysely<unknown>) {
      // A segment's membership as of a moment: the people are in the facts store (segment_members).
      await db.schema
        .createTable('segment_snapshots')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('workspace_id', 'text', (c) => c.notNull().references('workspaces.id').onDelete('cascade'))
        .addColumn('segment_key', 'text', (c) => c.notNull())
        .addColumn('trigger', 'text', (c) => c.notNull())
        .addColumn('people', 'bigint', (c) => c.notNull())
        .addColumn('evaluated_for', 'date', (c) => c.notNull())
        .addColumn('taken_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .execute();
      await db.schema.createIndex('segment_snapshots_segment').on('segment_snapshots').columns(['workspace_id', 'segment_key', 'taken_at']).execute();
    },
  },
  '0013_plans_channels_policy_ledger': {
    async up(db: Kysely<unknown>) {
      // A channel as the workspace configured it; secrets stay in the environment (secret_env names the variable).
      await db.schema
        .createTable('channels')
        .addColumn('workspace_id', 'text', (c) => c.notNull().references('workspaces.id').onDelete('cascade'))
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('definition', 'jsonb', (c) => c.notNull())
        .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addPrimaryKeyConstraint('channels_pk', ['workspace_id', 'key'])
        .execute();
      // One policy per workspace: caps, quiet hours, test whitelist.
      await db.schema
        .createTable('policies')
        .addColumn('workspace_id', 'text', (c) => c.primaryKey().references('workspaces.id').onDelete('cascade'))
        .addColumn('definition', 'jsonb', (c) => c.notNull())
        .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .execute();
      // Consent per person and channel ('*' = every channel); no row means the channel's default.
      await db.schema
        .createTable('consents')
        .addColumn('workspace_id', 'text', (c) => c.notNull().references('workspaces.id').onDelete('cascade'))
        .addColumn('person_id', 'bigint', (c) => c.notNull())
        .addColumn('channel', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addPrimaryKeyConstraint('consents_pk', ['workspace_id', 'person_id', 'channel'])
        .execute();
      await db.schema
        .createTable('plans')
        .addColumn('workspace_id', 'text', (c) => c.notNull().references('workspaces.id').onDelete('cascade'))
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('definition', 'jsonb', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull().defaultTo('draft'))
        .addColumn('next_run_at', 'timestamptz')
        // Triggered plans: events due up to this instant have been looked at.
        .addColumn('triggers_checked_until', 'timestamptz')
        .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addPrimaryKeyConstraint('plans_pk', ['workspace_id', 'key'])
        .execute();
      // One run per slot of a plan (the slot is 'once' or a cron instant): starting twice never runs twice.
      await db.schema
        .createTable('plan_runs')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('workspace_id', 'text', (c) => c.notNull().references('workspaces.id').onDelete('cascade'))
        .addColumn('plan_key', 'text', (c) => c.notNull())
        .addColumn('slot', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('audience', 'bigint')
        .addColumn('enqueued_through', 'bigint')
        // The process writing the run's ledger rows holds it until then (renewed with every chunk).
        .addColumn('enqueue_lease_until', 'timestamptz')
        .addColumn('error', 'text')
        .addColumn('started_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addColumn('enqueued_at', 'timestamptz')
        .addColumn('finished_at', 'timestamptz')
        .addUniqueConstraint('plan_runs_slot', ['workspace_id', 'plan_key', 'slot'])
        .execute();
      // The delivery ledger, which is also the dispatch queue: one row per (run, person, step), claimed
      // by workers with FOR UPDATE SKIP LOCKED under a lease, so a send is never made twice on purpose.
      await db.schema
        .createTable('deliveries')
        .addColumn('id', 'bigserial', (c) => c.primaryKey())
        .addColumn('workspace_id', 'text', (c) => c.notNull().references('workspaces.id').onDelete('cascade'))
        .addColumn('plan_key', 'text', (c) => c.notNull())
        .addColumn('run_id', 'text', (c) => c.notNull())
        .addColumn('person_id', 'bigint', (c) => c.notNull())
        .addColumn('step', 'text', (c) => c.notNull())
        .addColumn('variant', 'text', (c) => c.notNull())
        .addColumn('channel', 'text', (c) => c.notNull())
        .addColumn('purpose', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('reason', 'text')
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('address', 'text')
        .addColumn('content', 'jsonb')
        .addColumn('provider_id', 'text')
        .addColumn('entered_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addColumn('next_attempt_at', 'timestamptz')
        .addColumn('lease_until', 'timestamptz')
        .addColumn('sent_at', 'timestamptz')
        .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addUniqueConstraint('deliveries_once', ['run_id', 'person_id', 'step'])
        .execute();
      // Claims write only lease_until and attempts (no indexed column): with room left on each page,
      // PostgreSQL rewrites the row in place (a HOT update) instead of touching every index.
      await sql`ALTER TABLE deliveries SET (fillfactor = 70)`.execute(db);
      await sql`CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'queued'`.execute(db);
      await sql`CREATE INDEX deliveries_open_runs ON deliveries (run_id) WHERE status = 'queued'`.execute(db);
      await db.schema.createIndex('deliveries_person').on('deliveries').columns(['workspace_id', 'person_id', 'entered_at']).execute();
      await db.schema.createIndex('deliveries_plan').on('deliveries').columns(['workspace_id', 'plan_key', 'status']).execute();
      // Per-workspace key that signs unsubscribe and tracked links (made on first use, never shown).
      await db.schema
        .createTable('link_keys')
        .addColumn('workspace_id', 'text', (c) => c.primaryKey().references('workspaces.id').onDelete('cascade'))
        .addColumn('secret', 'text', (c) => c.notNull())
        .execute();
      // A link a run's messages carry through the tracked redirect (the token names it and the person).
      await db.schema
        .createTable('tracked_links')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('workspace_id', 'text', (c) => c.notNull().references('workspaces.id').onDelete('cascade'))
        .addColumn('plan_key', 'text', (c) => c.notNull())
        .addColumn('run_id', 'text', (c) => c.notNull())
        .addColumn('variant', 'text', (c) => c.notNull())
        .addColumn('channel', 'text', (c) => c.notNull())
        .addColumn('url', 'text', (c) => c.notNull())
        .execute();
    },
  },
  '0014_journeys': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('journeys')
        .addColumn('workspace_id', 'text', (c) => c.notNull().references('workspaces.id').onDelete('cascade'))
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('definition', 'jsonb', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull().defaultTo('draft'))
        .addColumn('run_id', 'text')
        // Entry by segment: when members were last looked for; by event: events up to here were seen.
        .addColumn('entry_checked_at', 'timestamptz')
        .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addPrimaryKeyConstraint('journeys_pk', ['workspace_id', 'key'])
        .execute();
      // Where each person is: the step, and when it is due (a wait's end; now for the others).
      await db.schema
        .createTable('journey_positions')
        .addColumn('workspace_id', 'text', (c) => c.notNull().references('workspaces.id').onDelete('cascade'))
        .addColumn('journey_key', 'text', (c) => c.notNull())
        .addColumn('person_id', 'bigint', (c) => c.notNull())
        .addColumn('step', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('due_at', 'timestamptz', (c) => c.notNull())
        .addColumn('lease_until', 'timestamptz')
        .addColumn('entered_at', 'timestamptz', (c) => c.notNull())
        .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addPrimaryKeyConstraint('journey_positions_pk', ['workspace_id', 'journey_key', 'person_id'])
        .execute();
      await sql`ALTER TABLE journey_positions SET (fillfactor = 70)`.execute(db);
      await sql`CREATE INDEX journey_positions_due ON journey_positions (due_at) WHERE status = 'active'`.execute(db);
      // Tasks for staff (导购), made by journeys; the workbench lists and closes them.
      await db.schema
        .createTable('staff_tasks')
        .addColumn('id', 'bigserial', (c) => c.primaryKey())
        .addColumn('workspace_id', 'text', (c) => c.notNull().references('workspaces.id').onDelete('cascade'))
        .addColumn('person_id', 'bigint', (c) => c.notNull())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('title', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull().defaultTo('open'))
        .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addColumn('closed_at', 'timestamptz')
        .addUniqueConstraint('staff_tasks_once', ['workspace_id', 'source', 'person_id'])
        .execute();
    },
  },
  '0015_users_sessions_audit': {
    async up(db: Kysely<unknown>) {
      // People who log in to the console (machines use API keys).
      await db.schema
        .createTable('users')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('workspace_id', 'text', (c) => c.notNull().references('workspaces.id').onDelete('cascade'))
        .addColumn('email', 'text', (c) => c.notNull().unique())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('password_hash', 'text', (c) => c.notNull())
        .addColumn('failed_logins', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('locked_until', 'timestamptz')
        .addColumn('disabled_at', 'timestamptz')
        .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addColumn('password_changed_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .execute();
      // A session is kept as the SHA-256 of its cookie's token.
      await db.schema
        .createTable('sessions')
        .addColumn('token_hash', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('sessions_user').on('sessions').column('user_id').execute();
      await db.schema
        .createTable('audit_log')
        .addColumn('id', 'bigserial', (c) => c.primaryKey())
        .addColumn('workspace_id', 'text', (c) => c.notNull().references('workspaces.id').onDelete('cascade'))
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('target', 'text', (c) => c.notNull())
        .addColumn('details', 'jsonb', (c) => c.notNull())
        .addColumn('at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .execute();
      await db.schema.createIndex('audit_log_workspace_at').on('audit_log').columns(['workspace_id', 'at']).execute();
    },
  },
  '0016_teams': {
    async up(db: Kysely<unknown>) {
      // A team sees the people who have a record from one of its sources, and those sources' orders.
      await db.schema
        .createTable('teams')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('workspace_id', 'text', (c) => c.notNull().references('workspaces.id').onDelete('cascade'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('sources', sql`text[]`, (c) => c.notNull())
        .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addUniqueConstraint('teams_name', ['workspace_id', 'name'])
        .execute();
      // No cascade: a team with members cannot go (its members would suddenly see everything).
      await db.schema
        .alterTable('users')
        .addColumn('team_id', 'text', (c) => c.references('teams.id'))
        .execute();
      // A shopping guide's WeCom userid: staff see the customers whose contact they own.
      await db.schema.alterTable('users').addColumn('staff_userid', 'text').execute();
    },
  },
  '0017_oneid_settings': {
    async up(db: Kysely<unknown>) {
      // Probabilistic matching per workspace: on or off, and its thresholds (defaults when no row).
      await db.schema
        .createTable('oneid_settings')
        .addColumn('workspace_id', 'text', (c) => c.primaryKey().references('workspaces.id').onDelete('cascade'))
        .addColumn('fuzzy', 'boolean', (c) => c.notNull())
        .addColumn('auto_merge', 'boolean', (c) => c.notNull())
        .addColumn('merge_at', 'double precision', (c) => c.notNull())
        .addColumn('review_at', 'double precision', (c) => c.notNull())
        .addColumn('max_block', 'integer', (c) => c.notNull())
        .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .execute();
    },
  },
  '0018_person_notes': {
    async up(db: Kysely<unknown>) {
      // What staff and operators write about a customer (备注), shown in the person view.
      await db.schema
        .createTable('person_notes')
        .addColumn('id', 'bigserial', (c) => c.primaryKey())
        .addColumn('workspace_id', 'text', (c) => c.notNull().references('workspaces.id').onDelete('cascade'))
        .addColumn('person_id', 'bigint', (c) => c.notNull())
        .addColumn('author', 'text', (c) => c.notNull())
        .addColumn('author_name', 'text', (c) => c.notNull())
        .addColumn('text', 'text', (c) => c.notNull())
        .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .execute();
      await db.schema.createIndex('person_notes_person').on('person_notes').columns(['workspace_id', 'person_id', 'created_at']).execute();
    },
  },
  '0019_behaviour_event_bits': {
    async up(db: Kysely<unknown>) {
      // Each event type's bit in the behaviour index's masks: given once, never changed (masks
      // already built rely on it), one event per bit.
      await db.schema
        .createTable('behaviour_event_bits')
        .addColumn('workspace_id', 'text', (c) => c.notNull().references('workspaces.id').onDelete('cascade'))
        .addColumn('event', 'text', (c) => c.notNull())
        .addColumn('bit', 'smallint', (c) => c.notNull())
        .addPrimaryKeyConstraint('behaviour_event_bits_pk', ['workspace_id', 'event'])
        .addUniqueConstraint('behaviour_event_bits_bit', ['workspace_id', 'bit'])
        .execute();
    },
  },
  '0020_secrets': {
    async up(db: Kysely<unknown>) {
      // Channel credentials per workspace, encrypted (AES-256-GCM; workspace and name are the AAD).
      // key_id names the master key that sealed the value, so rotation can find what is left to re-seal.
      await db.schema
        .createTable('secrets')
        .addColumn('workspace_id', 'text', (c) => c.notNull().references('workspaces.id').onDelete('cascade'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('key_id', 'text', (c) => c.notNull())
        .addColumn('iv', 'text', (c) => c.notNull())
        .addColumn('ciphertext', 'text', (c) => c.notNull())
        .addColumn('hint', 'text', (c) => c.notNull())
        .addColumn('updated_by', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addPrimaryKeyConstraint('secrets_pk', ['workspace_id', 'name'])
        .execute();
    },
  },
  '0021_tracker_keys_signed_identities': {
    async up(db: Kysely<unknown>) {
      // A tracker key may be held to the brand's own pages (null: any origin).
      await db.schema.alterTable('api_keys').addColumn('allowed_origins', 'text').execute();
      // Keys the brand's server signs customers' identities with; the secret is sealed in `secrets`.
      await db.schema
        .createTable('identity_sign_keys')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('workspace_id', 'text', (c) => c.notNull().references('workspaces.id').onDelete('cascade'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addColumn('revoked_at', 'timestamptz')
        .execute();
      await db.schema.createIndex('identity_sign_keys_workspace').on('identity_sign_keys').column('workspace_id').execute();
    },
  },
  '0023_erasure': {
    async up(db: Kysely<unknown>) {
      // PIPL erasure: identifiers of erased people are never linked again. Only salted hashes of
      // `type:value` are kept (the salt is the workspace's own), never the values themselves.
      await db.schema
        .createTable('erasure_salts')
        .addColumn('workspace_id', 'text', (c) => c.primaryKey().references('workspaces.id').onDelete('cascade'))
        .addColumn('salt', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('erased_identifiers')
        .addColumn('workspace_id', 'text', (c) => c.notNull().references('workspaces.id').onDelete('cascade'))
        .addColumn('hash', 'text', (c) => c.notNull())
        .addColumn('erased_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addPrimaryKeyConstraint('erased_identifiers_pk', ['workspace_id', 'hash'])
        .execute();
      // The de-identified person ids whose aggregate facts were kept: a re-imported record of theirs lands blank.
      await db.schema
        .createTable('erased_people')
        .addColumn('workspace_id', 'text', (c) => c.notNull().references('workspaces.id').onDelete('cascade'))
        .addColumn('person_id', 'bigint', (c) => c.notNull())
        .addColumn('erased_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addPrimaryKeyConstraint('erased_people_pk', ['workspace_id', 'person_id'])
        .execute();
    },
  },
  '0022_login_throttle': {
    async up(db: Kysely<unknown>) {
      // Failed logins counted per (account, client), per client and per account, keyed by a hash (no
      // email or address kept); a block only ever holds the key that earned it.
      await db.schema
        .createTable('login_throttle')
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('failures', 'integer', (c) => c.notNull())
        .addColumn('last_failure_at', 'timestamptz', (c) => c.notNull())
        .addColumn('blocked_until', 'timestamptz')
        .execute();
      await db.schema.createIndex('login_throttle_last_failure').on('login_throttle').column('last_failure_at').execute();
      // A generated first password is only good for choosing one's own.
      await db.schema
        .alterTable('users')
        .addColumn('must_change_password', 'boolean', (c) => c.notNull().defaultTo(false))
        .execute();
    },
  },
  '0024_drop_login_lock': {
    async up(db: Kysely<unknown>) {
      // The per-account lock that 0022's throttle replaced: nothing reads or writes these columns.
      await db.schema.alterTable('users').dropColumn('failed_logins').execute();
      await db.schema.alterTable('users').dropColumn('locked_until').execute();
    },
  },
  '0025_rule_conditions': {
    async up(db: Kysely<unknown>) {
      // Rule tags compare as segments do now (src/contract/conditions.ts): leaves the old check let through are rewritten to the same meaning.
      const rows = await sql<{ workspace_id: string; key: string; definition: unknown }>`SELECT workspace_id, key, definition FROM tag_definitions`.execute(db);
      for (const row of rows.rows) {
        const stored = typeof row.definition === 'string' ? JSON.parse(row.definition) : row.definition;
        const normalised = normaliseRuleConditions(stored);
        if (JSON.stringify(normalised) === JSON.stringify(stored)) continue;
        await sql`UPDATE tag_definitions SET definition = ${JSON.stringify(normalised)}::jsonb WHERE workspace_id = ${row.workspace_id} AND key = ${row.key}`.execute(db);
      }
    },
  },
  '0026_rule_condition_tree': {
    async up(db: Kysely<unknown>) {
      // Rule tags' conditions are the tree segments use (type: group / not / tag / profile / statistic): stored rules are rewritten to it.
      const rows = await sql<{ workspace_id: string; key: string; definition: unknown }>`SELECT workspace_id, key, definition FROM tag_definitions`.execute(db);
      for (const row of rows.rows) {
        const stored = typeof row.definition === 'string' ? JSON.parse(row.definition) : row.definition;
        const tree = ruleConditionTrees(stored);
        if (JSON.stringify(tree) === JSON.stringify(stored)) continue;
        await sql`UPDATE tag_definitions SET definition = ${JSON.stringify(tree)}::jsonb WHERE workspace_id = ${row.workspace_id} AND key = ${row.key}`.execute(db);
      }
    },
  },
};

const provider: MigrationProvider = {
  async getMigrations() {
    return MIGRATIONS;
  },
};

/** The names of the state migrations this version knows, in order. */
export const STATE_MIGRATION_NAMES: ReadonlyArray<string> = Object.keys(MIGRATIONS).sort();

/** Applies migrations up to and including `name` only (a restore loads a backup's rows at the schema they were taken with). */
export async function migrateStateTo(db: Kysely<unknown>, name: string): Promise<void> {
  const { error, results } = await new Migrator({ db, provider }).migrateTo(name);
  if (error) {
    const failed = results?.find((r) => r.status === 'Error');
    throw new Error(`state migration ${failed?.migrationName ?? name} failed: ${(error as Error).message ?? error}`);
  }
}

export async function migrateState(db: Kysely<unknown>): Promise<{ applied: string[] }> {
  const migrator = new Migrator({ db, provider });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error');
    throw new Error(`state migration ${failed?.migrationName ?? ''} failed: ${(error as Error).message ?? error}`);
  }
  return { applied: (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName) };
}
