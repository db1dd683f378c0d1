/**
 * bench/cli: the wall time of `siyu` commands, each its own process as a user runs them — in client mode
 * (beside `siyu start` on the demo brand, run inside the server) and in direct mode (the server stopped,
 * the command opens the stores). Beside them: the same command as one request from the bench's own
 * process (the server's share). Baselines: a bare `node -e ''` and a Node process doing one bare fetch
 * of the server's /healthz.
 *   npm run bench -- cli [--people 1000] [--runs 10] [--direct-runs 5]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { machine, median, option, printTable } from './common.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SIYU = path.join(ROOT, 'src/cli/siyu.ts');

const COMMANDS: string[][] = [['people', 'search', '1'], ['tags', 'list'], ['segments', 'list'], ['doctor']];

/** Seconds from spawn to exit; a failed command stops the bench with its output. */
function wallTime(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(Number(process.hrtime.bigint() - started) / 1e9) : reject(new Error(`${args.join(' ')}: exit ${code}: ${stderr}`))));
  });
}

async function medianOf(runs: number, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const seconds: number[] = [];
  for (let i = 0; i < runs; i++) seconds.push(await wallTime(args, env));
  return median(seconds);
}

/** Median seconds of the command sent as one request to the server's CLI route, its output read to the end. */
async function requestMedian(runs: number, credential: { url: string; token: string }, command: string[]): Promise<number> {
  const seconds: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = process.hrtime.bigint();
    const response = await fetch(`${credential.url}/local/cli`, {
      method: 'POST',
      headers: { authorization: `Bearer ${credential.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ argv: command, cwd: ROOT, user: 'bench', stderrIsTTY: false, env: {} }),
    });
    const text = await response.text();
    if (!text.includes('{"exit":0}')) throw new Error(`${command.join(' ')}: ${text.slice(0, 300)}`);
    seconds.push(Number(process.hrtime.bigint() - started) / 1e9);
  }
  return median(seconds);
}

async function startServer(env: NodeJS.ProcessEnv): Promise<{ url: string; stop(): Promise<void> }> {
  const child = spawn(process.execPath, [path.join(ROOT, 'src/cli/main.ts'), 'start'], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  let stdout = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (d) => {
      stdout += d;
      const match = /console\s+(http:\/\/\S+?)\/\s/.exec(stdout);
      if (match) resolve(match[1]);
    });
    child.on('exit', (code) => reject(new Error(`siyu start exited ${code}: ${stdout}`)));
  });
  return {
    url,
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

export async function run(args: string[]): Promise<void> {
  const people = option(args, 'people', '1000');
  const runs = Number(option(args, 'runs', '10'));
  const directRuns = Number(option(args, 'direct-runs', '5'));
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'siyu-bench-cli-'));
  const env = { SIYU_DATA_DIR: dataDir, SIYU_PORT: '0', SIYU_DEMO_PEOPLE: people, SIYU_LOG_LEVEL: 'warn', SIYU_URL: '' };
  try {
    console.log(`bench cli: demo brand of ${people} people, ${runs} runs per command in client mode, ${directRuns} in direct mode (${machine()})`);
    const server = await startServer(env);
    const client = new Map<string, number>();
    // The same command as one request from this process: the server's share of the client's time.
    const inServer = new Map<string, number>();
    let nodeAlone: number;
    let bareFetch: number;
    try {
      nodeAlone = await medianOf(runs, ['-e', ''], env);
      bareFetch = await medianOf(runs, ['-e', 'await (await fetch(process.argv[1])).text()', `${server.url}/healthz`], env);
      console.error(`node -e '' ${nodeAlone.toFixed(3)} s, one fetch ${bareFetch.toFixed(3)} s`);
      const credential = JSON.parse(fs.readFileSync(path.join(dataDir, 'local-admin.json'), 'utf8')) as { url: string; token: string };
      for (const command of COMMANDS) {
        inServer.set(command.join(' '), await requestMedian(runs, credential, command));
        client.set(command.join(' '), await medianOf(runs, [SIYU, ...command], env));
        console.error(`siyu ${command.join(' ')}: client ${client.get(command.join(' '))!.toFixed(3)} s, in server ${inServer.get(command.join(' '))!.toFixed(3)} s`);
      }
    } finally {
      await server.stop();
    }
    const rows = [];
    for (const command of COMMANDS) {
      const direct = await medianOf(directRuns, [SIYU, ...command], env);
      const beside = client.get(command.join(' '))!;
      rows.push({
        command: `siyu ${command.join(' ')}`,
        'direct s': direct,
        'client s': beside,
        'in server s': inServer.get(command.join(' '))!,
        'direct / client': direct / beside,
      });
    }
    printTable(rows);
    console.log(`\nbaselines (medians): node -e '' ${nodeAlone.toFixed(3)} s; a Node process doing one fetch of /healthz ${bareFetch.toFixed(3)} s`);
    console.log(
      JSON.stringify({
        bench: 'cli',
        people: Number(people),
        runs,
        directRuns,
        nodeSeconds: nodeAlone,
        bareFetchSeconds: bareFetch,
        commands: rows.map((r) => ({ command: r.command, directSeconds: r['direct s'], clientSeconds: r['client s'], inServerSeconds: r['in server s'] })),
      }),
    );
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run(process.argv.slice(2));
