/**
 * The server's side of client mode (see client.ts): `siyu start` takes CLI commands from `siyu` processes
 * on the same machine and runs them on its open stores, streaming their output back line by line.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ApiError } from '../kernel/errors.ts';
import type { SiyuConfig } from '../config/config.ts';
import type { Stores } from '../stores/stores.ts';
import { runHosted, type HostedRun } from './hosted.ts';
// A static import (a cycle main → start → host → main that ESM resolves): `await import('./main.ts')` would
// wait forever in a server started as main.ts, whose top-level await (the start command) never settles.
import { main } from './main.ts';
import { LOCAL_CLI_ROUTE, LOCAL_CREDENTIAL_FILE, type LocalCredential } from './client.ts';

const commandRequest = z.object({
  argv: z.array(z.string().max(100_000)).max(1_000),
  cwd: z.string().min(1).max(4_096),
  user: z.string().max(256),
  stderrIsTTY: z.boolean(),
  stdin: z.string().max(1_000_000).optional(),
  env: z.record(z.string(), z.string().max(10_000)),
});

const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

/**
 * Only a process on this machine: the peer is loopback or the server's own address (a server bound to one
 * LAN address is reached through it). The socket's address, never X-Forwarded-For: a proxy in front
 * must not make a remote caller look local.
 */
function fromThisMachine(request: FastifyRequest): boolean {
  const peer = request.raw.socket.remoteAddress;
  return peer !== undefined && (LOOPBACK.has(peer) || peer === request.raw.socket.localAddress);
}

function sameSecret(given: string, expected: string): boolean {
  const digest = (text: string) => crypto.createHash('sha256').update(text).digest();
  return crypto.timingSafeEqual(digest(given), digest(expected));
}

/**
 * Registers the route (before the server listens) and returns the token it accepts. The token is made
 * here and lives only in this process and in the owner-only credential file: it is not an API key, so
 * it is never in the state store (nor its backups), dies with the process and needs no revocation.
 */
export function installLocalCli(app: FastifyInstance, options: { config: SiyuConfig; stores: Stores }): { token: string } {
  const token = crypto.randomBytes(32).toString('base64url');
  app.post(LOCAL_CLI_ROUTE, { schema: { hide: true, body: commandRequest } }, async (request, reply) => {
    if (!fromThisMachine(request)) throw new ApiError(403, 'forbidden', 'the local CLI route answers only to processes on this machine');
    const header = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '');
    if (!header || !sameSecret(header[1], token)) throw new ApiError(401, 'unauthorized', `a valid local credential (${LOCAL_CREDENTIAL_FILE} in the data directory) is required`);
    const body = request.body as z.infer<typeof commandRequest>;
    reply.hijack();
    reply.raw.writeHead(200, { 'content-type': 'application/x-ndjson; charset=utf-8', 'cache-control': 'no-store' });
    const send = (line: Record<string, unknown>) => {
      // A client gone (Ctrl+C) does not stop the command; its output has nowhere to go.
      if (!reply.raw.destroyed && !reply.raw.writableEnded) reply.raw.write(`${JSON.stringify(line)}\n`);
    };
    const run: HostedRun = {
      stores: options.stores,
      config: options.config,
      write: (stream, text) => send({ [stream]: text }),
      stdin: body.stdin,
      cwd: body.cwd,
      user: body.user,
      stderrIsTTY: body.stderrIsTTY,
      env: body.env,
      exitCode: 0,
    };
    let code: number;
    try {
      code = await runHosted(run, () => main(['node', 'siyu', ...body.argv]));
    } catch (error) {
      send({ stderr: `siyu: ${(error as Error).message}\n` });
      code = 1;
    }
    send({ exit: code || run.exitCode });
    run.finished = true;
    reply.raw.end();
  });
  return { token };
}

/** The URL a process on this machine reaches the server at: loopback unless it listens on one address only. */
export function localUrlOf(address: AddressInfo): string {
  const host =
    address.address === '0.0.0.0' || address.address === '127.0.0.1'
      ? '127.0.0.1'
      : address.address === '::' || address.address === '::1'
        ? '[::1]'
        : address.family === 'IPv6'
          ? `[${address.address}]`
          : address.address;
  return `http://${host}:${address.port}`;
}

/**
 * Writes the credential file (owner-only, written whole then renamed into place) and returns its remover.
 * A file left by a crashed server names a dead pid; clients ignore it and the next start replaces it.
 */
export function writeLocalCredential(dataDir: string, url: string, token: string): { file: string; remove(): void } {
  const file = path.join(dataDir, LOCAL_CREDENTIAL_FILE);
  const credential: LocalCredential = { url, token, pid: process.pid, since: new Date().toISOString() };
  const temporary = `${file}.${process.pid}`;
  fs.rmSync(temporary, { force: true });
  fs.writeFileSync(temporary, `${JSON.stringify(credential)}\n`, { mode: 0o600, flag: 'wx' });
  fs.chmodSync(temporary, 0o600);
  fs.renameSync(temporary, file);
  let removed = false;
  const remove = () => {
    if (removed) return;
    removed = true;
    process.off('exit', remove);
    try {
      const current = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<LocalCredential>;
      if (current.pid === process.pid) fs.rmSync(file, { force: true });
    } catch {
      // Already gone.
    }
  };
  process.on('exit', remove);
  return { file, remove };
}
