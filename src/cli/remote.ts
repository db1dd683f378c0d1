/**
 * Remote mode (SIYU_URL + SIYU_API_KEY): the commands that have an API route call it, as the key's role
 * and within its workspace, and print what direct mode prints. The others are refused, naming where they
 * run: on the server's machine, where they go through the local server (client.ts).
 * Imports nothing heavy: commander, the output helpers and fetch.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { Command, CommanderError } from 'commander';
import { printTable, Progress } from './output.ts';
import {
  estimateLine,
  exactLine,
  importRunRow,
  importSummaryText,
  printExplanation,
  printPlanList,
  printPlanReport,
  printResolveSummary,
  printUsers,
  segmentListRow,
} from './formats.ts';
import type { Explanation, ResolveSummary, Review } from '../contract/identity.ts';
import type { ImportRun, QuarantineRow } from '../contract/imports.ts';
import type { PlanInfo, PlanReport } from '../contract/plans.ts';
import type { ServerTarget } from './client.ts';

type Remote = Extract<ServerTarget, { kind: 'remote' }>;

/** Whole numbers on the command line (as args.ts, without its zod import). */
function wholeNumber(value: string): number {
  const n = Number(value.replace(/_/g, ''));
  if (!Number.isInteger(n)) throw new Error(`expected a whole number, got "${value}"`);
  return n;
}

/** One API call; a refusal or an unreachable server is one line naming the variable to check. */
async function call<T>(target: Remote, method: 'GET' | 'POST' | 'PUT', route: string, body?: unknown, file?: string): Promise<T> {
  let response: Response;
  try {
    response = await fetch(`${target.url}${route}`, {
      method,
      headers: {
        authorization: `Bearer ${target.apiKey}`,
        ...(file ? { 'content-type': 'application/octet-stream' } : body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      // A file goes up as a stream (an import may be larger than memory); 'half' is what Node's fetch asks of a streamed body.
      body: file ? (Readable.toWeb(fs.createReadStream(file)) as ReadableStream) : body === undefined ? undefined : JSON.stringify(body),
      ...(file ? { duplex: 'half' } : {}),
    } as RequestInit);
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    throw new Error(`cannot reach SIYU_URL (${target.url}): ${cause?.code ?? cause?.message ?? (error as Error).message}`);
  }
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    throw new Error(`SIYU_URL (${target.url}) did not answer as a Siyu server (${response.status}, not JSON)`);
  }
  if (!response.ok) {
    const message = (parsed as { error?: { message?: string } } | undefined)?.error?.message ?? response.statusText;
    if (response.status === 401) throw new Error(`the server at SIYU_URL (${target.url}) refused SIYU_API_KEY: ${message}`);
    if (response.status === 403) throw new Error(`SIYU_API_KEY may not do this on ${target.url}: ${message}`);
    throw new Error(message);
  }
  return parsed as T;
}

interface TagRow {
  key: string;
  name: { zh: string };
  kind: string;
  valueType: string;
  lastRun: { baseDate: string; status: string; people: number } | null;
}

function remoteProgram(target: Remote): Command {
  const program = new Command().name('siyu').exitOverride().showHelpAfterError('(run siyu --help for usage)');
  program.option('--data <dir>', 'ignored with SIYU_URL');
  const ws = ['-w, --workspace <slug>', "ignored with SIYU_URL: the key's workspace"] as const;
  const tags = program.command('tags');
  tags
    .command('list')
    .option(...ws)
    .action(async () => {
      const { tags: rows } = await call<{ tags: TagRow[] }>(target, 'GET', '/api/v1/tags');
      printTable(
        rows.map((tag) => ({
          key: tag.key,
          name: tag.name.zh,
          kind: tag.kind,
          type: tag.valueType,
          'last run': tag.lastRun ? `${tag.lastRun.baseDate} ${tag.lastRun.status}` : '',
          people: tag.lastRun?.people ?? '',
        })),
      );
    });
  tags
    .command('run [keys...]')
    .option('--date <YYYY-MM-DD>')
    .option(...ws)
    .action(async (keys: string[], options: { date?: string }) => {
      process.stderr.write(`running ${keys.length > 0 ? keys.join(', ') : 'all tags'} on ${target.url}…\n`);
      const { runs } = await call<{ runs: Array<{ key: string; status: string; people: number; seconds: number; error?: string }> }>(target, 'POST', '/api/v1/tags/run', {
        keys: keys.length > 0 ? keys : undefined,
        baseDate: options.date,
      });
      printTable(runs.map((r) => ({ tag: r.key, status: r.status, people: r.people, s: Math.round(r.seconds * 100) / 100, error: r.error ?? '' })));
      const failed = runs.filter((r) => r.status === 'failed');
      if (failed.length > 0) throw new Error(`${failed.length} tag${failed.length === 1 ? '' : 's'} failed: ${failed.map((f) => f.key).join(', ')}`);
    });
  const people = program.command('people');
  people
    .command('search <text>')
    .option('--limit <n>', 'people', wholeNumber, 20)
    .option(...ws)
    .action(async (text: string, options: { limit: number }) => {
      const { people: hits } = await call<{ people: Array<{ personId: number; name: string; sources: string[]; identifiers: Array<{ type: string; value: string }> }> }>(
        target,
        'GET',
        `/api/v1/people?${new URLSearchParams({ q: text, limit: String(options.limit) })}`,
      );
      console.log(`${hits.length} ${hits.length === 1 ? 'person' : 'people'}`);
      printTable(hits.map((h) => ({ person: h.personId, name: h.name, sources: h.sources.join(','), identifiers: h.identifiers.map((i) => `${i.type}:${i.value}`).join(' ') })));
    });
  people
    .command('view <person_id>')
    .option(...ws)
    .action(async (personId: string) => {
      console.log(JSON.stringify(await call(target, 'GET', `/api/v1/people/${wholeNumber(personId)}`), null, 2));
    });
  program
    .command('overview')
    .option('--days <n>', 'window in days', wholeNumber, 90)
    .option(...ws)
    .action(async (options: { days: number }) => {
      console.log(JSON.stringify(await call(target, 'GET', `/api/v1/overview?days=${options.days}`), null, 2));
    });
  remoteImports(program, target, ws);
  remoteSegmentsAndPlans(program, target, ws);
  remoteIdentityAndUsers(program, target, ws);
  return program;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `siyu import KIND FILE…`: each file is uploaded, then its run polled with direct mode's progress line and summary. */
function remoteImports(program: Command, target: Remote, ws: readonly [string, string]): void {
  program
    .command('import')
    .argument('<kind>')
    .argument('[files...]')
    .option('--source <name>')
    .option('--preset <name>')
    .option('--mapping <file.json>')
    .option('--run <id>')
    .option('--limit <n>', 'rows', wholeNumber, 50)
    .option(...ws)
    .action(async (kind: string, files: string[], options: { source?: string; preset?: string; mapping?: string; run?: string; limit: number }) => {
      if (kind === 'runs') {
        const { runs } = await call<{ runs: ImportRun[] }>(target, 'GET', `/api/v1/imports?limit=${options.limit}`);
        printTable(runs.map(importRunRow));
        return;
      }
      if (kind === 'quarantine') {
        // The API lists one run's refusals: without --run, the newest run's.
        const runId = options.run ?? (await call<{ runs: ImportRun[] }>(target, 'GET', '/api/v1/imports?limit=1')).runs[0]?.id;
        if (!runId) return printTable([]);
        const { rows } = await call<{ rows: QuarantineRow[] }>(target, 'GET', `/api/v1/imports/${encodeURIComponent(runId)}/quarantine?limit=${options.limit}`);
        printTable(rows.map((q) => ({ run: runId, file: q.file, row: q.row, field: q.field, value: q.value, reason: q.reason, action: q.action })));
        return;
      }
      if (options.mapping) throw new Error('--mapping: not available against a remote server; import with --preset, or run the import on the server machine');
      if (files.length === 0) throw new Error(`give the file(s) to import: siyu import ${kind} FILE...`);
      for (const file of files) {
        if (!fs.statSync(file, { throwIfNoEntry: false })?.isFile()) throw new Error(`${file}: no such file`);
      }
      const interval = Number(process.env.SIYU_PROGRESS_INTERVAL_MS ?? 500);
      for (const file of files) {
        const query = new URLSearchParams({ kind, filename: path.basename(file) });
        if (options.source) query.set('source', options.source);
        if (options.preset) query.set('preset', options.preset);
        const started = await call<{ run: string; resumed: boolean }>(target, 'POST', `/api/v1/imports?${query}`, undefined, file);
        const progress = new Progress('importing');
        let run: ImportRun;
        for (;;) {
          run = await call<ImportRun>(target, 'GET', `/api/v1/imports/${encodeURIComponent(started.run)}`);
          if (run.status !== 'running') break;
          progress.update(run.rowsRead, 'rows');
          await sleep(interval);
        }
        progress.done();
        if (run.status === 'failed') throw new Error(`${file}: import run ${run.id} failed: ${run.error ?? 'no reason given'}`);
        printTable([
          { file, read: run.rowsRead, landed: run.landed, updated: run.updated, unchanged: run.unchanged, quarantined: run.quarantined, 'values dropped': run.valuesDropped },
        ]);
        const seconds = ((run.finishedAt ? Date.parse(run.finishedAt) : Date.now()) - Date.parse(run.startedAt)) / 1000;
        console.log(importSummaryText(run.id, started.resumed, run, seconds));
      }
    });
}

function remoteSegmentsAndPlans(program: Command, target: Remote, ws: readonly [string, string]): void {
  const segments = program.command('segments');
  segments
    .command('list')
    .option(...ws)
    .action(async () => {
      type Listed = { key: string; name: { zh: string }; conditions: unknown[]; lastSnapshot: { takenAt: string; people: number } | null };
      const { segments: rows } = await call<{ segments: Listed[] }>(target, 'GET', '/api/v1/segments');
      printTable(rows.map((s) => segmentListRow(s, s.lastSnapshot)));
    });
  segments
    .command('count <key>')
    .option('--today <YYYY-MM-DD>')
    .option(...ws)
    .action(async (key: string, options: { today?: string }) => {
      const route = `/api/v1/segments/${encodeURIComponent(key)}/count`;
      const today = options.today ? `today=${encodeURIComponent(options.today)}` : '';
      const { estimate } = await call<{ estimate: { estimate: number; low: number; high: number; seconds: number } }>(target, 'GET', `${route}?estimate=true&${today}`);
      console.log(estimateLine(estimate));
      // Without estimate= the route counts exactly (z.coerce.boolean would read "false" as true).
      const { exact } = await call<{ exact: { people: number; seconds: number } }>(target, 'GET', `${route}?${today}`);
      console.log(exactLine(exact));
    });
  segments
    .command('create <file.json>')
    .option('--replace')
    .option(...ws)
    .action(async (file: string, options: { replace?: boolean }) => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
      } catch (error) {
        throw new Error(`${file}: not a readable JSON file (${(error as Error).message})`);
      }
      for (const definition of Array.isArray(parsed) ? parsed : [parsed]) {
        const key = (definition as { key?: unknown }).key;
        const route = options.replace && typeof key === 'string' ? `/api/v1/segments/${encodeURIComponent(key)}` : '/api/v1/segments';
        const { segment } = await call<{ segment: { key: string; name: { zh: string; en: string } } }>(target, options.replace ? 'PUT' : 'POST', route, definition);
        const { exact } = await call<{ exact: { people: number } }>(target, 'GET', `/api/v1/segments/${encodeURIComponent(segment.key)}/count`);
        const people = exact.people;
        console.log(`segment ${segment.key} (${segment.name.zh} / ${segment.name.en}): ${people.toLocaleString('en-US')} people`);
      }
    });

  const plans = program.command('plans');
  plans
    .command('list')
    .option(...ws)
    .action(async () => printPlanList((await call<{ plans: PlanInfo[] }>(target, 'GET', '/api/v1/plans')).plans));
  plans
    .command('report <key>')
    .option('--run <id>')
    .option('--json')
    .option(...ws)
    .action(async (key: string, options: { run?: string; json?: boolean }) => {
      const query = options.run ? `?${new URLSearchParams({ run: options.run })}` : '';
      printPlanReport(await call<PlanReport>(target, 'GET', `/api/v1/plans/${encodeURIComponent(key)}/report${query}`), options.json);
    });
  plans
    .command('pause <key>')
    .option(...ws)
    .action(async (key: string) => console.log(`plan ${key}: ${(await call<PlanInfo>(target, 'POST', `/api/v1/plans/${encodeURIComponent(key)}/pause`)).status}`));
}

function remoteIdentityAndUsers(program: Command, target: Remote, ws: readonly [string, string]): void {
  program
    .command('resolve')
    .option('--full')
    .option(...ws)
    .action(async (options: { full?: boolean }) => {
      process.stderr.write(`resolving on ${target.url}…\n`);
      printResolveSummary((await call<{ summary: ResolveSummary }>(target, 'POST', '/api/v1/identities/resolve', { full: options.full === true })).summary);
    });
  const identities = program.command('identities');
  identities
    .command('explain <person_id>')
    .option(...ws)
    .action(async (personId: string) => {
      const id = wholeNumber(personId);
      printExplanation(id, await call<Explanation>(target, 'GET', `/api/v1/people/${id}/explain`));
    });
  identities
    .command('review')
    .option('--status <status>', 'pending, accepted or rejected', 'pending')
    .option(...ws)
    .action(async (options: { status: string }) => {
      if (!['pending', 'accepted', 'rejected'].includes(options.status)) throw new Error('--status must be pending, accepted or rejected');
      const { reviews } = await call<{ reviews: Review[] }>(target, 'GET', `/api/v1/identities/reviews?status=${options.status}`);
      printTable(reviews.map((r) => ({ id: r.id, probability: r.probability, a: r.recordA, b: r.recordB, 'pattern (name phone address birthday id)': JSON.stringify(r.pattern) })));
    });
  program
    .command('users')
    .command('list')
    .option(...ws)
    .action(async () => {
      const [{ users }, { teams }] = await Promise.all([
        call<{ users: Parameters<typeof printUsers>[0] }>(target, 'GET', '/api/v1/users'),
        call<{ teams: Array<{ id: string; name: string }> }>(target, 'GET', '/api/v1/teams'),
      ]);
      printUsers(users, new Map(teams.map((t) => [t.id, t.name])));
    });
  program
    .command('doctor')
    .option('--json')
    .action(async (options: { json?: boolean }) => {
      // The remote API answers the stores' health, not the host's directories and tables (those are the server machine's).
      const health = await call<{ status: string; facts: { engine: string; status: string }; state: { engine: string; status: string } }>(target, 'GET', '/healthz');
      if (options.json) return console.log(JSON.stringify(health, null, 2));
      console.log(`server: ${target.url}`);
      console.log(`facts store: ${health.facts.engine} — ${health.facts.status}`);
      console.log(`state store: ${health.state.engine} — ${health.state.status}`);
      if (health.status !== 'ok') throw new Error(`the server's stores are ${health.status}`);
      console.log('ok: both stores answer');
    });
}

/** The commands remote mode answers, for the refusal of the others. */
const REMOTE_COMMANDS = [
  'tags list',
  'tags run',
  'people search',
  'people view',
  'overview',
  'import',
  'segments list',
  'segments count',
  'segments create',
  'plans list',
  'plans report',
  'plans pause',
  'resolve',
  'identities explain',
  'identities review',
  'users list',
  'doctor',
];

/** Commands that act on the server's machine itself (its data directory, its files, its processes). */
const HOST_COMMANDS: Record<string, string> = {
  start: 'starts a server on this machine',
  restore: "writes into a data directory on the server's machine",
  backup: "writes the backup on the server's machine",
  migrate: "migrates the stores on the server's machine",
  secrets: "rotates the key file on the server's machine",
  workspace: "creates a workspace in the server's stores, with its first admin",
  workspaces: "creates a workspace in the server's stores, with its first admin",
  demo: "loads demo data into the server's stores",
};

export async function runOnRemoteServer(target: Remote, argv: readonly string[]): Promise<number> {
  const words = argv.slice(2).filter((token) => !token.startsWith('-'));
  const wanted = REMOTE_COMMANDS.find((command) => command.split(' ').every((word, i) => words[i] === word));
  const host = words[0] === undefined ? undefined : HOST_COMMANDS[words[0]];
  if (!wanted && host) {
    throw new Error(`siyu ${words[0]}: not against a remote server (SIYU_URL=${target.url}): it ${host}; run it there`);
  }
  if (!wanted) {
    throw new Error(
      `siyu ${words.slice(0, 2).join(' ')}: not available against a remote server (SIYU_URL=${target.url}); ` +
        `remotely: ${REMOTE_COMMANDS.join(', ')}; run the others on the server's machine (they go through the running server there) or use the console`,
    );
  }
  try {
    await remoteProgram(target).parseAsync(argv as string[]);
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    throw error;
  }
}
