import path from 'node:path';
import { egressPolicy } from '../kernel/egress.ts';
import { ConfigError } from '../kernel/errors.ts';
import { intFromEnv } from '../kernel/env.ts';
import { fileLimits } from '../kernel/file-limits.ts';

/** Everything Siyu reads from the environment, resolved once. Secrets never have defaults. */
export interface SiyuConfig {
  /** Root of the embedded stores' data: facts under `<dataDir>/facts`, state under `<dataDir>/state`. */
  dataDir: string;
  /** PostgreSQL server for the state store; PGlite under `<dataDir>/state` when absent. */
  databaseUrl?: string;
  /** ClickHouse server (HTTP) for the facts store; chDB under `<dataDir>/facts` when absent. */
  clickhouseUrl?: string;
  clickhouseUser?: string;
  clickhousePassword?: string;
  clickhouseDatabase: string;
  host: string;
  port: number;
  /** Public URL printed for the console (defaults to http://host:port). */
  publicUrl?: string;
  logLevel: string;
  /** People in the demo brand generated on the first start with empty stores (0 turns it off). */
  demoPeople: number;
  /** How long a dispatcher's claim on a message holds before another worker may retry it. */
  dispatchLeaseSeconds: number;
}

export interface ConfigOverrides {
  dataDir?: string;
  port?: number;
  host?: string;
}

export function loadConfig(overrides: ConfigOverrides = {}, env: NodeJS.ProcessEnv = process.env): SiyuConfig {
  const dataDir = path.resolve(overrides.dataDir ?? env.SIYU_DATA_DIR ?? './data');
  const port = overrides.port ?? intFromEnv('SIYU_PORT', 8080, env);
  if (port > 65535) throw new ConfigError(`SIYU_PORT must be at most 65535, got ${port}`);
  try {
    egressPolicy(env); // a malformed egress setting stops the start, not the first send
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
  // Read again whenever a file is taken in; checked here so a bad value stops the start, not an upload.
  fileLimits(env);
  return {
    dataDir,
    databaseUrl: env.DATABASE_URL || undefined,
    clickhouseUrl: env.SIYU_CLICKHOUSE_URL || undefined,
    clickhouseUser: env.SIYU_CLICKHOUSE_USER || undefined,
    clickhousePassword: env.SIYU_CLICKHOUSE_PASSWORD || undefined,
    clickhouseDatabase: env.SIYU_CLICKHOUSE_DATABASE || 'siyu',
    host: overrides.host ?? env.SIYU_HOST ?? '127.0.0.1',
    port,
    publicUrl: env.SIYU_PUBLIC_URL || undefined,
    logLevel: env.SIYU_LOG_LEVEL || 'warn',
    demoPeople: intFromEnv('SIYU_DEMO_PEOPLE', 2000, env),
    dispatchLeaseSeconds: Math.max(1, intFromEnv('SIYU_DISPATCH_LEASE_SECONDS', 120, env)),
  };
}

/** Times an uploaded import may be interrupted before the next start marks it failed instead of resuming it. */
export function importMaxAttempts(env: NodeJS.ProcessEnv = process.env): number {
  return Math.max(1, intFromEnv('SIYU_IMPORT_MAX_ATTEMPTS', 3, env));
}

export function factsDir(config: SiyuConfig): string {
  return path.join(config.dataDir, 'facts');
}
export function stateDir(config: SiyuConfig): string {
  return path.join(config.dataDir, 'state');
}
export function demoDir(config: SiyuConfig): string {
  return path.join(config.dataDir, 'demo');
}
/** Where the server writes a backup (ClickHouse's BACKUP may write only under this directory). */
export function backupsDir(config: Pick<SiyuConfig, 'dataDir'>): string {
  return path.join(config.dataDir, 'backups');
}
