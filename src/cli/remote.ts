/**
 * Remote mode (SIYU_URL + SIYU_API_KEY): the commands that have an API route call it, as the key's role
 * and within its workspace, and print what direct mode prints. The others are refused, naming where they
 * run: on the server's machine, where they go through the local server (client.ts).
 * Imports nothing heavy: commander, the output helpers and fetch.
 */
import { Command, CommanderError } from 'commander';
import { printTable } from './output.ts';
import type { ServerTarget } from './client.ts';

type Remote = Extract<ServerTarget, { kind: 'remote' }>;

/** Whole numbers on the command line (as args.ts, without its zod import). */
function wholeNumber(value: string): number {
  const n = Number(value.replace(/_/g, ''));
  if (!Number.isInteger(n)) throw new Error(`expected a whole number, got "${value}"`);
  return n;
}

/** One API call; a refusal or an unreachable server is one line naming the variable to check. */
async function call<T>(target: Remote, method: 'GET' | 'POST', route: string, body?: unknown): Promise<T> {
  let response: Response;
  try {
    response = await fetch(`${target.url}${route}`, {
      method,
      headers: { authorization: `Bearer ${target.apiKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
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
  return program;
}

/** The commands remote mode answers, for the refusal of the others. */
export const REMOTE_COMMANDS = ['tags list', 'tags run', 'people search', 'people view', 'overview'];

export async function runOnRemoteServer(target: Remote, argv: readonly string[]): Promise<number> {
  const words = argv.slice(2).filter((token) => !token.startsWith('-'));
  const wanted = REMOTE_COMMANDS.find((command) => command.split(' ').every((word, i) => words[i] === word));
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
