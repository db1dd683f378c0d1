import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { loadConfig, type SiyuConfig } from '../src/config/config.ts';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import pg from 'pg';
import { openStores, type Stores } from '../src/stores/stores.ts';
import { buildServer } from '../src/app/server.ts';
import type { EventBufferOptions } from '../src/tracking/event-buffer.ts';
import { WorkspaceService, type Workspace } from '../src/access/workspaces.ts';
import { ApiKeyService } from '../src/access/keys.ts';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/**
 * On PostgreSQL, each test file gets a database of its own (siyu_file_<pid>), made here when the file
 * loads and inherited by the processes it starts, so files can run side by side (npm run test:pg runs
 * two at once) without one file's dispatcher or whole-store check seeing another's rows. Databases of
 * test processes that are gone are dropped first.
 */
if (process.env.DATABASE_URL && !process.env.SIYU_TEST_FILE_DATABASE) {
  const shared = process.env.DATABASE_URL;
  const name = `siyu_file_${process.pid}`;
  const admin = new pg.Client({ connectionString: shared });
  await admin.connect();
  try {
    const { rows } = await admin.query<{ datname: string }>(`SELECT datname FROM pg_database WHERE datname LIKE 'siyu\\_file\\_%'`);
    for (const { datname } of rows) {
      const pid = Number(datname.slice('siyu_file_'.length));
      let alive = true;
      try {
        process.kill(pid, 0);
      } catch {
        alive = false;
      }
      if (!alive || pid === process.pid) await admin.query(`DROP DATABASE IF EXISTS ${datname} WITH (FORCE)`).catch(() => undefined);
    }
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(shared);
  url.pathname = `/${name}`;
  process.env.DATABASE_URL = url.toString();
  process.env.SIYU_TEST_FILE_DATABASE = name;
}

const tempDirs: string[] = [];
/** A fresh directory, removed when the test process exits (a suite's stores are closed by then). */
export function tempDir(prefix = 'siyu-test-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  if (tempDirs.length === 0) process.on('exit', () => tempDirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
  tempDirs.push(dir);
  return dir;
}

/**
 * Config for a test: embedded stores in a fresh directory; the state store is the PostgreSQL server
 * named by DATABASE_URL when it is set (CI runs the suite both ways).
 */
export function testConfig(dataDir = tempDir(), env: NodeJS.ProcessEnv = {}): SiyuConfig {
  const config = loadConfig({ dataDir }, { ...process.env, SIYU_DATA_DIR: dataDir, SIYU_DEMO_PEOPLE: '0', ...env });
  if (!config.databaseUrl) seedPgliteState(dataDir);
  return config;
}

/**
 * A fresh PGlite store's first open runs initdb: about 4 s of CPU, most of what opening a store costs,
 * and the suite opens fresh stores some hundred times (every new data directory, in-process or by the
 * CLI). So initdb runs once per PGlite version: the closed, empty cluster it writes is kept under the
 * system's temporary directory and a new data directory's state/ starts as a copy of it. Migrations
 * still run in every store as before; only initdb's identical output is reused.
 */
function seedPgliteState(dataDir: string): void {
  const state = path.join(dataDir, 'state');
  if (fs.existsSync(state)) return;
  fs.cpSync(pgliteTemplate(), state, { recursive: true });
}

function pgliteTemplate(): string {
  const { version } = JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules/@electric-sql/pglite/package.json'), 'utf8')) as { version: string };
  const template = path.join(os.tmpdir(), `siyu-pglite-initdb-${version}`);
  if (fs.existsSync(path.join(template, 'PG_VERSION'))) return template;
  // Written aside and renamed into place, so a run that stops half-way leaves no broken template.
  const building = `${template}.${process.pid}`;
  const script = "const { PGlite } = await import('@electric-sql/pglite'); const db = new PGlite(process.argv[1]); await db.waitReady; await db.close();";
  execFileSync(process.execPath, ['--input-type=module', '-e', script, building], { cwd: ROOT, stdio: 'ignore' });
  try {
    fs.renameSync(building, template);
  } catch {
    fs.rmSync(building, { recursive: true, force: true }); // another process put its template there first
  }
  return template;
}

export async function openTestStores(dataDir?: string, env: NodeJS.ProcessEnv = {}): Promise<{ stores: Stores; config: SiyuConfig }> {
  const config = testConfig(dataDir, env);
  return { stores: await openStores(config), config };
}

/**
 * A database of the suite's own on the PostgreSQL server named by DATABASE_URL, for tests of what
 * spans a whole state store (rotating the master key re-seals every secret in it; the CLI's default
 * workspace is "the only one"), which the other suites sharing DATABASE_URL's database would see.
 * `env` is what to add to a config's or a child's environment; empty on PGlite, where each data
 * directory is a store of its own. `drop()` once the suite's stores are closed.
 */
export async function ownStateDatabase(): Promise<{ env: NodeJS.ProcessEnv; drop(): Promise<void> }> {
  const shared = process.env.DATABASE_URL;
  if (!shared) return { env: {}, drop: async () => {} };
  const name = uniqueSlug('siyu_suite').replaceAll('-', '_');
  const admin = new pg.Client({ connectionString: shared });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(shared);
  url.pathname = `/${name}`;
  return {
    env: { DATABASE_URL: url.toString() },
    drop: async () => {
      const client = new pg.Client({ connectionString: shared });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}

export function uniqueSlug(prefix: string): string {
  return `${prefix}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the real CLI in a child process (the same Node as this test). */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  const dataDir = env.SIYU_DATA_DIR;
  if (dataDir && !(env.DATABASE_URL ?? process.env.DATABASE_URL) && fs.existsSync(dataDir)) seedPgliteState(dataDir);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'src/cli/main.ts'), ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** The real server on a free loopback port, as tests call it over HTTP. */
export async function startTestServer(stores: Stores, tracking?: EventBufferOptions): Promise<{ app: FastifyInstance; base: string }> {
  const app = await buildServer({ config: { logLevel: 'error' }, stores, logger: false, tracking });
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, base: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}` };
}

/** Calls the API with a key: the status, the body as text, and the body as JSON when it is JSON. */
export async function callApi(base: string, method: string, route: string, token: string, body?: unknown): Promise<{ status: number; text: string; json: any }> {
  const response = await fetch(`${base}${route}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, text, json: text.startsWith('{') ? JSON.parse(text) : undefined };
}

/** A new workspace (unique slug) with an operator key and an analyst key, as the API suites use. */
export async function workspaceWithKeys(stores: Stores, prefix: string): Promise<{ ws: Workspace; operator: string; analyst: string }> {
  const ws = await new WorkspaceService(stores.state).create({ slug: uniqueSlug(prefix), name: prefix });
  const keys = new ApiKeyService(stores.state);
  return { ws, operator: (await keys.create(ws.id, 'ops', 'operator')).token, analyst: (await keys.create(ws.id, 'bi', 'analyst')).token };
}

/**
 * The Chromium the browser tests drive (Debian's package; playwright-core never downloads one).
 * On a fresh machine where we are root, Debian's package is installed here, so `npm test` needs
 * nothing done by hand; elsewhere the error says what to install.
 */
export function ensureChromium(): string {
  const candidates = [process.env.SIYU_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter((c): c is string => Boolean(c));
  const found = () => candidates.find((c) => fs.existsSync(c));
  if (found()) return found()!;
  if (process.getuid?.() === 0 && fs.existsSync('/usr/bin/apt-get')) {
    process.stderr.write("# the browser tests need Chromium: installing Debian's packages (apt-get install chromium fonts-noto-cjk)\n");
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    execFileSync('apt-get', ['update', '-qq'], { env, stdio: 'ignore' });
    // With CJK fonts the screenshots show Chinese (without them, boxes).
    execFileSync('apt-get', ['install', '-y', '-qq', 'chromium', 'fonts-noto-cjk'], { env, stdio: 'ignore' });
    if (found()) return found()!;
  }
  throw new Error("the browser tests need Chromium: install Debian's package (apt-get install chromium) or set SIYU_CHROMIUM to a Chromium binary");
}

/** Every row of every table of both stores (all versions, no FINAL) that holds one of the texts: where erased data would hide. */
export async function findInStores(stores: Stores, texts: string[]): Promise<string[]> {
  const found: string[] = [];
  const tables = await stores.facts.query<{ name: string }>(
    `SELECT name FROM system.tables WHERE database = currentDatabase() AND engine LIKE '%MergeTree' AND NOT is_temporary ORDER BY name`,
  );
  for (const { name } of tables) {
    const [row] = await stores.facts.query<{ n: string; sample: string }>(
      `SELECT count() AS n, any(formatRow('TabSeparated', *)) AS sample FROM ${name} WHERE multiSearchAny(formatRow('TabSeparated', *), {texts:Array(String)})`,
      { texts },
    );
    if (Number(row.n) > 0) found.push(`facts.${name}: ${row.sample.slice(0, 300)}`);
  }
  const stateTables = await sql<{ table_name: string }>`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`.execute(
    stores.state.db,
  );
  for (const { table_name } of stateTables.rows) {
    for (const text of texts) {
      const rows = await sql<{ row: string }>`SELECT t::text AS row FROM ${sql.table(table_name)} AS t WHERE strpos(t::text, ${text}) > 0 LIMIT 1`.execute(stores.state.db);
      if (rows.rows.length > 0) found.push(`state.${table_name}: ${rows.rows[0].row.slice(0, 300)}`);
    }
  }
  return found;
}
