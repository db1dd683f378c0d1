/**
 * The base of the local contract servers: a node:http server on 127.0.0.1 (a free port), each request
 * read whole and handed to a route. Tests (and later the plans tests) point clients at `url`.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface IncomingRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: IncomingMessage['headers'];
  body: string;
}

export interface Answer {
  status: number;
  body: string;
  headers?: Record<string, string>;
}

/**
 * What a test can make the next call answer instead of the platform's normal behaviour. Only the
 * fields given apply: `status` answers with that HTTP status (and `body`), `delayMs` waits first
 * (to trip a client's timeout); the platform servers add their own fields (an errcode, a Code).
 */
export interface ScriptedHttp {
  status?: number;
  body?: string;
  retryAfterSeconds?: number;
  delayMs?: number;
}

export interface LocalServer {
  url: string;
  close(): Promise<void>;
}

export async function startLocalServer(route: (request: IncomingRequest) => Promise<Answer> | Answer): Promise<LocalServer> {
  const server = createServer((req, res) => {
    void handle(req, res, route);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        // Kept-alive client sockets and requests a test left hanging (timeouts) would hold close() open.
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

async function handle(req: IncomingMessage, res: ServerResponse, route: (request: IncomingRequest) => Promise<Answer> | Answer): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const url = new URL(req.url ?? '/', 'http://local');
  const request: IncomingRequest = {
    method: req.method ?? 'GET',
    path: url.pathname,
    query: Object.fromEntries(url.searchParams),
    headers: req.headers,
    body: Buffer.concat(chunks).toString('utf8'),
  };
  let answer: Answer;
  try {
    answer = await route(request);
  } catch (error) {
    answer = { status: 500, body: `contract server error: ${(error as Error).message}` };
  }
  if (res.destroyed) return;
  res.writeHead(answer.status, { 'content-type': 'application/json; charset=utf-8', ...answer.headers });
  res.end(answer.body);
}

/** Applies the HTTP part of a scripted answer: waits, then answers with the status if one is given. */
export async function scriptedHttpAnswer(script: ScriptedHttp | undefined): Promise<Answer | undefined> {
  if (!script) return undefined;
  // Unref'd: a timer left over from a timed-out request must not keep the test process alive.
  if (script.delayMs) await new Promise((resolve) => setTimeout(resolve, script.delayMs).unref());
  if (script.status === undefined) return undefined;
  const headers: Record<string, string> = script.retryAfterSeconds !== undefined ? { 'retry-after': String(script.retryAfterSeconds) } : {};
  return { status: script.status, body: script.body ?? '', headers };
}

export function json(body: unknown, status = 200): Answer {
  return { status, body: JSON.stringify(body) };
}
