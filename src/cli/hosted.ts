/**
 * A CLI command run inside the server on behalf of a `siyu` process in another terminal (see client.ts).
 * The command code is the same as in direct mode; only what it touches of its own process goes through
 * here: the stores (the server's, already open), its output, standard input, the exit code, the OS user
 * and the working directory its relative paths mean.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import path from 'node:path';
import type { Command } from 'commander';
import type { SiyuConfig } from '../config/config.ts';
import type { Stores } from '../stores/stores.ts';

export interface HostedRun {
  stores: Stores;
  config: SiyuConfig;
  /** The client's output: each write becomes a line of the response stream. */
  write(stream: 'stdout' | 'stderr', text: string): void;
  /** Standard input the client read for a command that takes one (a password, a secret). */
  stdin?: string;
  /** The client's working directory: relative file arguments mean files there. */
  cwd: string;
  /** Who ran the command, for the audit log. */
  user: string;
  /** Whether the client's stderr is a terminal (progress rewrites one line there). */
  stderrIsTTY: boolean;
  /** The client's SIYU_NEW_PASSWORD / SIYU_PROGRESS_INTERVAL_MS: the command reads them, not the server's. */
  env: Record<string, string | undefined>;
  exitCode: number;
  /** Set when the command has answered: work it left running (a timer, a listener) writes to the server's own output. */
  finished?: boolean;
  /** Paths made absolute for the server (below) and how the user wrote them: output shows them as written. */
  writtenPaths?: Map<string, string>;
}

const current = new AsyncLocalStorage<HostedRun>();

export function hostedRun(): HostedRun | undefined {
  return current.getStore();
}

let outputRouted = false;

/**
 * Runs `fn` as a hosted command. The first call routes process.stdout/stderr writes made inside a hosted
 * command (console.log, printTable, Progress, streams given process.stdout) to that command's client;
 * writes outside one go to the server's own output as before.
 */
export function runHosted<T>(run: HostedRun, fn: () => Promise<T>): Promise<T> {
  if (!outputRouted) {
    outputRouted = true;
    for (const name of ['stdout', 'stderr'] as const) {
      const stream = process[name];
      const original = stream.write.bind(stream) as (...args: unknown[]) => boolean;
      stream.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
        const hosted = current.getStore();
        if (!hosted || hosted.finished) return original(chunk, ...rest);
        hosted.write(name, asWritten(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8')));
        const callback = rest.find((arg) => typeof arg === 'function') as (() => void) | undefined;
        if (callback) queueMicrotask(callback);
        return true;
      }) as typeof stream.write;
    }
  }
  return current.run(run, fn);
}

/** Text with the paths this hosted command made absolute shown as the user wrote them (direct mode's output). */
export function asWritten(text: string): string {
  const paths = current.getStore()?.writtenPaths;
  if (!paths) return text;
  let shown = text;
  for (const [absolute, written] of paths) shown = shown.replaceAll(absolute, written);
  return shown;
}

/** The exit code of the command: the client's when hosted, else this process's. */
export function setExitCode(code: number): void {
  const hosted = current.getStore();
  if (hosted) hosted.exitCode = code;
  else process.exitCode = code;
}

/** An environment variable the command reads as the user's setting (the client's when hosted). */
export function commandEnv(name: string): string | undefined {
  const hosted = current.getStore();
  return hosted ? hosted.env[name] : process.env[name];
}

export function stderrIsTTY(): boolean {
  const hosted = current.getStore();
  return hosted ? hosted.stderrIsTTY : process.stderr.isTTY === true;
}

/** All of standard input as text (the client sent it when hosted). */
export async function readStdinText(): Promise<string> {
  const hosted = current.getStore();
  if (hosted) return hosted.stdin ?? '';
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Commands that read standard input: the client reads it and sends it along. */
export const STDIN_COMMANDS: ReadonlyArray<readonly [string, string]> = [
  ['users', 'create'],
  ['secrets', 'set'],
];

/** Commands that only make sense in their own process and are refused while a server runs. */
export const SERVER_ONLY_REFUSALS: Readonly<Record<string, string>> = {
  start: 'a server already runs on this data directory',
  restore: 'restore needs an empty data directory and no server on it: stop the server first',
};

/** Argument and option names that hold a file or directory path. */
const PATH_ARGUMENT = /^(file|files|dir|path)(\.|$)/;
const PATH_OPTION = /<(file|dir|path)[^>]*>/;

/**
 * Before a hosted command's action: relative paths in its file arguments and options are made absolute
 * against the client's working directory (the server's is elsewhere), and commands that cannot run
 * inside a server are refused.
 */
export function prepareHostedAction(_program: Command, action: Command): void {
  const hosted = current.getStore();
  if (!hosted) return;
  const refusal = SERVER_ONLY_REFUSALS[action.name()];
  if (refusal && action.parent?.parent === null) throw new Error(`siyu ${action.name()}: ${refusal}`);
  const resolve = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(resolve);
    if (typeof value !== 'string' || value === '' || value === '-' || path.isAbsolute(value)) return value;
    const absolute = path.resolve(hosted.cwd, value);
    (hosted.writtenPaths ??= new Map()).set(absolute, value);
    return absolute;
  };
  action.registeredArguments.forEach((argument, i) => {
    if (PATH_ARGUMENT.test(argument.name())) action.processedArgs[i] = resolve(action.processedArgs[i]);
  });
  for (const option of action.options) {
    if (!PATH_OPTION.test(option.flags)) continue;
    const key = option.attributeName();
    const value = action.getOptionValue(key);
    if (value !== undefined) action.setOptionValue(key, resolve(value));
  }
}
