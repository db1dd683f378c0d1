/**
 * The HTTP plumbing every HTTP channel shares: one request with a deadline, whose transport failures
 * (timeout, refused connection, 5xx, 429) come back already mapped onto a SendResult, so each client
 * only has to read the platform's own answer.
 */
import http from 'node:http';
import https from 'node:https';
import { outcomeOfHttpStatus, outcomeOfNetworkError, type SendResult } from './channel.ts';

export interface HttpReply {
  status: number;
  text: string;
}

/** Any outcome but sent: what a failed exchange or call reports. */
export type NotSent = Exclude<SendResult, { outcome: 'sent' }>;

export type HttpExchange = { ok: true; reply: HttpReply } | { ok: false; result: NotSent };

export interface HttpRequest {
  method: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
}

/**
 * Sends one request and reads the whole body before the deadline. 5xx, 408, 429 and network errors
 * come back as a (retry) result; any other status comes back as a reply for the client to read, since
 * platforms such as Aliyun put their error code in a 4xx body.
 */
export async function exchange(url: string, request: HttpRequest, timeoutMs: number): Promise<HttpExchange> {
  let reply: HttpReply & { retryAfter: string | null };
  try {
    reply = await send(url, request, timeoutMs);
  } catch (error) {
    const result = outcomeOfNetworkError(error);
    return { ok: false, result: result.outcome === 'sent' ? { outcome: 'retry', reason: 'network: unknown error' } : result };
  }
  const transient = outcomeOfHttpStatus(reply.status, reply.text, reply.retryAfter);
  if (transient?.outcome === 'retry') return { ok: false, result: transient };
  return { ok: true, reply: { status: reply.status, text: reply.text } };
}

// Kept-alive connections per protocol: node:http is about 3× faster than fetch for many small
// requests to one host (measured: 20.5k vs 6.6k requests/s to a local receiver at 64 in flight).
const agents = {
  'http:': new http.Agent({ keepAlive: true, maxSockets: 256 }),
  'https:': new https.Agent({ keepAlive: true, maxSockets: 256 }),
};

/** One request, its whole body read before the deadline. Never follows redirects (a redirected POST would lose its body). */
function send(url: string, request: HttpRequest, timeoutMs: number): Promise<HttpReply & { retryAfter: string | null }> {
  const target = new URL(url);
  const protocol = target.protocol === 'https:' ? 'https:' : 'http:';
  const body = request.body === undefined ? undefined : Buffer.from(request.body);
  return new Promise((resolve, reject) => {
    const outgoing = (protocol === 'https:' ? https : http).request(
      target,
      {
        method: request.method,
        agent: agents[protocol],
        headers: { ...request.headers, ...(body ? { 'content-length': String(body.length) } : {}) },
        signal: AbortSignal.timeout(timeoutMs),
      },
      (incoming) => {
        const chunks: Buffer[] = [];
        incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
        incoming.on('error', reject);
        incoming.on('end', () => {
          const retryAfter = incoming.headers['retry-after'];
          resolve({ status: incoming.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), retryAfter: typeof retryAfter === 'string' ? retryAfter : null });
        });
      },
    );
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

/** The reply as a JSON object, or undefined when it is not one. */
export function jsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

export function postJson(body: unknown, headers: Record<string, string> = {}): HttpRequest {
  return { method: 'POST', headers: { 'content-type': 'application/json; charset=utf-8', ...headers }, body: JSON.stringify(body) };
}

/** Joins a configured base URL (with or without a trailing slash) and an absolute API path. */
export function apiUrl(baseUrl: string, path: string, query: Record<string, string> = {}): string {
  const url = new URL(baseUrl.replace(/\/+$/, '') + path);
  for (const [name, value] of Object.entries(query)) url.searchParams.set(name, value);
  return url.toString();
}
