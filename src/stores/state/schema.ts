import type { ColumnType, Generated } from 'kysely';

/** Kysely's view of the state store's tables. Each domain adds its tables here with its migration. */
export interface StateDatabase {
  workspaces: WorkspacesTable;
  api_keys: ApiKeysTable;
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
}
