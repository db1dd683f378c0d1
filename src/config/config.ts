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

export const ENVIRONMENT_VARIABLES: ReadonlyArray<{ name: string; meaning: string; default: string }> = [
  { name: 'SIYU_DATA_DIR', meaning: 'data directory of the embedded stores (facts/, state/, demo/)', default: './data' },
  { name: 'DATABASE_URL', meaning: 'PostgreSQL server for the state store instead of PGlite', default: '(unset: PGlite)' },
  { name: 'SIYU_CLICKHOUSE_URL', meaning: 'ClickHouse server (HTTP) for the facts store instead of chDB', default: '(unset: chDB)' },
  { name: 'SIYU_CLICKHOUSE_USER', meaning: 'ClickHouse user', default: 'default' },
  { name: 'SIYU_CLICKHOUSE_PASSWORD', meaning: 'ClickHouse password', default: '(empty)' },
  { name: 'SIYU_CLICKHOUSE_DATABASE', meaning: 'ClickHouse database', default: 'siyu' },
  { name: 'SIYU_CLICKHOUSE_TIMEOUT_MS', meaning: 'longest wait for one request to the ClickHouse server (imports, OneID resolves and tag runs take minutes)', default: '3600000' },
  { name: 'SIYU_HOST', meaning: 'address the HTTP server listens on', default: '127.0.0.1' },
  { name: 'SIYU_PORT', meaning: 'HTTP port', default: '8080' },
  { name: 'SIYU_PUBLIC_URL', meaning: 'URL printed for the console; the base of links in messages, test sends and previews', default: 'http://HOST:PORT' },
  { name: 'SIYU_TRUST_PROXY', meaning: 'reverse proxies whose X-Forwarded-For names the client (login throttling, tracker rates): true, a hop count, or addresses/CIDRs', default: '(unset: the socket address)' },
  { name: 'SIYU_LOG_LEVEL', meaning: 'server log level (fatal, error, warn, info, debug)', default: 'warn' },
  { name: 'SIYU_DEMO_PEOPLE', meaning: 'people in the demo brand generated on first start (0: none)', default: '2000' },
  { name: 'SIYU_DISPATCH_LEASE_SECONDS', meaning: 'how long a worker holds a message it is sending before another worker (on PostgreSQL) may retry it', default: '120' },
  { name: 'SIYU_ALLOW_PRIVATE_EGRESS', meaning: 'let channels, token endpoints and SMTP reach loopback, link-local and private addresses (tests, on-premise); refused by default', default: '0' },
  { name: 'SIYU_EGRESS_ALLOW', meaning: 'private destinations allowed by name: hosts, addresses or CIDRs with optional ports, comma-separated (127.0.0.1:4010,10.0.0.0/8,mail.internal)', default: '(none)' },
  { name: 'SIYU_UPLOAD_MAX_MB', meaning: 'largest upload (import, tag or list file) in CSV, TSV or JSON lines, gzip or not; larger is refused with 413', default: '2048' },
  { name: 'SIYU_UPLOAD_XLSX_MAX_MB', meaning: 'largest XLSX upload', default: '200' },
  { name: 'SIYU_UNPACKED_MAX_MB', meaning: 'most a file may unpack to when read (gzip output, all parts of an XLSX together); past it the read stops with an error', default: '20 × SIYU_UPLOAD_MAX_MB' },
  { name: 'SIYU_IMPORT_MAX_RECORD_KB', meaning: 'longest record an import reads (a JSON line, a CSV/TSV record, an XLSX row); a longer JSON line or XLSX row is quarantined, a longer CSV record stops the file at that row', default: '1024' },
  { name: 'SIYU_IMPORT_MAX_ATTEMPTS', meaning: 'times an uploaded import may be interrupted (the server stopped or was killed while it ran) before the next start marks it failed instead of resuming it', default: '3' },
  { name: 'SIYU_XLSX_SHARED_STRINGS_MAX_MB', meaning: "most an XLSX file's shared-strings part may unpack to (it is held in memory while the sheet is read)", default: '100' },
  { name: 'SIYU_SECRET_KEY', meaning: 'master key that encrypts channel secrets (32 bytes as base64 or hex, e.g. openssl rand -base64 32); unset: generated into DATA_DIR/secret.key (0600) on first start', default: '(generated key file)' },
  { name: 'SIYU_SECRET_KEY_PREVIOUS', meaning: 'older master keys, comma-separated, still accepted for reading after a rotation (siyu secrets rotate-key re-encrypts under SIYU_SECRET_KEY)', default: '(none)' },
  { name: 'SIYU_CHANNEL_SECRET_ENV_ALLOW', meaning: 'environment variables a channel may still name for a credential (…Env fields), comma-separated; every other name is refused', default: '(none)' },
];

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
