/**
 * Client mode: the `siyu` command beside a running server.
 *
 * The seam, in one place: `runSiyu(argv, direct)` decides where a command runs.
 *  - SIYU_URL set: a remote server, with SIYU_API_KEY (remote.ts: the commands that have an API route).
 *  - Else, when `siyu start` holds the data directory (its credential file `local-admin.json` there names
 *    a live pid): the command is sent to that server (POST /local/cli with the token from the file) and
 *    runs inside it, as the same command code, on the server's open stores; its stdout/stderr come back
 *    as NDJSON lines ({"stdout": text} | {"stderr": text} | {"exit": code}) and are printed as they
 *    arrive, so output and progress are those of direct mode.
 *  - Else `direct()`: the command opens the stores itself.
 * A command joins client mode by taking its stores from `openCliStores(config)` or `withWorkspace` in
 * workspace.ts (never `openStores` directly) and its input, exit code and environment through hosted.ts
 * (`readStdinText`, `setExitCode`, `commandEnv`). `siyu backup` does just that: while the server runs it
 * runs inside the server, on the server's stores. A command that must not run inside a server is listed
 * in SERVER_ONLY_REFUSALS (hosted.ts).
 *
 * This module imports nothing heavy (no stores, no fastify, no domains): a command in client mode starts
 * in the time Node takes to start.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { processIsAlive } from '../stores/lock.ts';
import { SERVER_ONLY_REFUSALS, STDIN_COMMANDS } from './hosted.ts';

export const LOCAL_CREDENTIAL_FILE = 'local-admin.json';
export const LOCAL_CLI_ROUTE = '/local/cli';

/** What `siyu start` writes into the data directory (mode 0600) while it runs. */
export interface LocalCredential {
  url: string;
  token: string;
  pid: number;
  since: string;
}

export type ServerTarget = { kind: 'local'; url: string; token: string; pid: number } | { kind: 'remote'; url: string; apiKey: string };

/** `--data DIR` / `--data=DIR` on the command line, else SIYU_DATA_DIR, else ./data (as loadConfig reads it). */
function dataDirOf(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): string {
  let given: string | undefined;
  for (let i = 2; i < argv.length; i++) {
    if (argv[i] === '--') break;
    if (argv[i] === '--data' && i + 1 < argv.length) given = argv[i + 1];
    else if (argv[i].startsWith('--data=')) given = argv[i].slice('--data='.length);
  }
  return path.resolve(given ?? env.SIYU_DATA_DIR ?? './data');
}

/** The live server on this data directory, from its credential file; none when absent or its process is gone. */
function localServer(dataDir: string): Extract<ServerTarget, { kind: 'local' }> | undefined {
  let credential: Partial<LocalCredential>;
  try {
    credential = JSON.parse(fs.readFileSync(path.join(dataDir, LOCAL_CREDENTIAL_FILE), 'utf8')) as Partial<LocalCredential>;
  } catch {
    return undefined;
  }
  if (typeof credential.url !== 'string' || typeof credential.token !== 'string' || typeof credential.pid !== 'number') return undefined;
  if (credential.pid === process.pid || !processIsAlive(credential.pid)) return undefined;
  return { kind: 'local', url: credential.url, token: credential.token, pid: credential.pid };
}

/** Where commands go: SIYU_URL (with SIYU_API_KEY), else a server on the data directory, else nowhere (direct). */
function findServer(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): ServerTarget | undefined {
  if (env.SIYU_URL) {
    let url: URL;
    try {
      url = new URL(env.SIYU_URL);
    } catch {
      throw new Error(`SIYU_URL is not a URL: "${env.SIYU_URL}" (expected e.g. https://siyu.example.com)`);
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error(`SIYU_URL must start with https:// or http://, got "${env.SIYU_URL}"`);
    if (!env.SIYU_API_KEY) throw new Error('SIYU_URL is set but SIYU_API_KEY is not: set it to an API key of that server (siyu apikey create there)');
    return { kind: 'remote', url: env.SIYU_URL.replace(/\/+$/, ''), apiKey: env.SIYU_API_KEY };
  }
  return localServer(dataDirOf(argv, env));
}

/** The command words (no options): ["people", "search", "13800…"]. Options taking a value are not told apart; good enough for the first two words. */
function commandWords(argv: readonly string[]): string[] {
  const words: string[] = [];
  for (let i = 2; i < argv.length; i++) {
    const token = argv[i];
    if (token === '--') break;
    if (token === '--data' || token === '-w' || token === '--workspace') i++;
    else if (!token.startsWith('-')) words.push(token);
  }
  return words;
}

/** Help and version need no stores: they are answered here. */
function wantsHelp(argv: readonly string[]): boolean {
  return argv.length <= 2 || argv.slice(2).some((token) => token === '-h' || token === '--help' || token === '-V' || token === '--version') || argv[2] === 'help';
}

/** A connection the operating system refused: the recorded server is gone (a pid reused by another process). */
function refused(error: unknown): boolean {
  const cause = (error as { cause?: { code?: string } }).cause;
  return cause?.code === 'ECONNREFUSED' || cause?.code === 'ECONNRESET';
}

async function readAllStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** The answer of a refused request, as one line. */
async function errorOf(response: Response): Promise<string> {
  const text = await response.text();
  try {
    const body = JSON.parse(text) as { error?: { message?: string } };
    if (body.error?.message) return body.error.message;
  } catch {
    // Not JSON: the text itself.
  }
  return text.slice(0, 200) || response.statusText;
}

/** Prints the NDJSON lines of a hosted command as they come; the command's exit code. */
async function printCommandStream(response: Response): Promise<number> {
  if (!response.body) throw new Error('the server sent no output');
  const decoder = new TextDecoder();
  let buffered = '';
  let exit: number | undefined;
  const handle = (line: string) => {
    if (!line) return;
    const message = JSON.parse(line) as { stdout?: string; stderr?: string; exit?: number };
    if (message.stdout !== undefined) process.stdout.write(message.stdout);
    if (message.stderr !== undefined) process.stderr.write(message.stderr);
    if (message.exit !== undefined) exit = message.exit;
  };
  for await (const chunk of response.body) {
    buffered += decoder.decode(chunk as Uint8Array, { stream: true });
    let newline: number;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      handle(buffered.slice(0, newline));
      buffered = buffered.slice(newline + 1);
    }
  }
  handle(buffered + decoder.decode());
  if (exit === undefined) throw new Error('the server stopped before the command finished');
  return exit;
}

/** Runs the command inside the local server; undefined when that server is not there after all. */
async function runOnLocalServer(target: Extract<ServerTarget, { kind: 'local' }>, argv: readonly string[]): Promise<number | undefined> {
  const [first, second] = commandWords(argv);
  const refusal = first === undefined ? undefined : SERVER_ONLY_REFUSALS[first];
  if (refusal) throw new Error(`siyu ${first}: ${refusal} (pid ${target.pid}, ${target.url})`);
  let stdin: string | undefined;
  const readsStdin = STDIN_COMMANDS.some(([a, b]) => a === first && b === second);
  if (readsStdin && !(first === 'users' && process.env.SIYU_NEW_PASSWORD)) {
    if (first === 'secrets' && process.stdin.isTTY) process.stderr.write('type the value, then Enter and Ctrl-D:\n');
    stdin = await readAllStdin();
  }
  const env: Record<string, string> = {};
  for (const name of ['SIYU_NEW_PASSWORD', 'SIYU_PROGRESS_INTERVAL_MS']) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  let response: Response;
  try {
    response = await fetch(`${target.url}${LOCAL_CLI_ROUTE}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${target.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ argv: argv.slice(2), cwd: process.cwd(), user: process.env.USER ?? os.userInfo().username, stderrIsTTY: process.stderr.isTTY === true, stdin, env }),
    });
  } catch (error) {
    if (refused(error)) return undefined;
    throw new Error(`cannot reach the server on this data directory at ${target.url} (pid ${target.pid}): ${(error as Error).message}`);
  }
  if (!response.ok) throw new Error(`the server at ${target.url} refused the command: ${await errorOf(response)}`);
  return printCommandStream(response);
}

/** The `siyu` entry: runs the command on a server when one is there (see the top of this file), else `direct()`. */
export async function runSiyu(argv: readonly string[], direct: () => Promise<number>): Promise<number> {
  try {
    if (wantsHelp(argv)) return await direct();
    const target = findServer(argv);
    if (!target) return await direct();
    if (target.kind === 'remote') {
      const { runOnRemoteServer } = await import('./remote.ts');
      return await runOnRemoteServer(target, argv);
    }
    const code = await runOnLocalServer(target, argv);
    return code ?? (await direct());
  } catch (error) {
    process.stderr.write(`siyu: ${(error as Error).message}\n`);
    if (process.env.SIYU_DEBUG) console.error(error);
    return 1;
  }
}
