/**
 * The HTTP plumbing every HTTP channel shares: one request with a deadline, whose transport failures
 * (timeout, refused connection, 5xx, 429) come back already mapped onto a SendResult, so each client
 * only has to read the platform's own answer.
 */
import http from 'node:http';
import https from 'node:https';
import { checkEgressUrl, egressPolicy, EgressRefusedError, guardedLookup, portOf } from '../kernel/egress.ts';
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
    // A destination the server may not reach will not become reachable by trying again.
    if (error instanceof EgressRefusedError) return { ok: false, result: { outcome: 'failed', reason: error.message } };
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

/** Most of a reply read: platforms answer in a few hundred bytes; a bigger body is cut here and the connection dropped. */
export const MAX_REPLY_BYTES = 64 * 1024;

/**
 * One request, its body read (up to MAX_REPLY_BYTES) before the deadline. Never follows redirects (a
 * redirected POST would lose its body, and a redirect could point anywhere). The destination is
 * checked against the egress policy: an address in the URL here, a name when the socket resolves it
 * (the lookup checks every address and connects only to those, so a second DNS answer is never used).
 */
function send(url: string, request: HttpRequest, timeoutMs: number): Promise<HttpReply & { retryAfter: string | null }> {
  const policy = egressPolicy();
  let target: URL;
  try {
    target = checkEgressUrl(url, policy);
  } catch (error) {
    return Promise.reject(error);
  }
  const protocol = target.protocol === 'https:' ? 'https:' : 'http:';
  const body = request.body === undefined ? undefined : Buffer.from(request.body);
  return new Promise((resolve, reject) => {
    const outgoing = (protocol === 'https:' ? https : http).request(
      target,
      {
        method: request.method,
        agent: agents[protocol],
        lookup: guardedLookup(policy, portOf(target)),
        headers: { ...request.headers, ...(body ? { 'content-length': String(body.length) } : {}) },
        signal: AbortSignal.timeout(timeoutMs),
      },
      (incoming) => {
        const chunks: Buffer[] = [];
        let size = 0;
        const retryAfter = incoming.headers['retry-after'];
        const finish = () =>
          resolve({ status: incoming.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), retryAfter: typeof retryAfter === 'string' ? retryAfter : null });
        incoming.on('data', (chunk: Buffer) => {
          if (size >= MAX_REPLY_BYTES) return;
          chunks.push(chunk.subarray(0, MAX_REPLY_BYTES - size));
          size += chunk.length;
          if (size >= MAX_REPLY_BYTES) {
            // Enough read: the rest is neither waited for nor kept (the socket is not reused).
            incoming.destroy();
            finish();
          }
        });
        incoming.on('error', (error) => (size >= MAX_REPLY_BYTES ? undefined : reject(error)));
        incoming.on('end', finish);
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
