/**
 * A local webhook receiver for tests and benchmarks: checks each request's signature, counts what
 * arrives per idempotency key, and can be told to fail (status codes, a slow answer) for a while.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SIGNATURE_HEADER, verifyWebhook } from '../webhook.ts';

export interface ReceivedWebhook {
  id: string;
  personId: string;
  body: Record<string, unknown>;
}

export interface WebhookReceiver {
  url: string;
  /** Every accepted request, repeats included. */
  requests: number;
  /** Requests refused for a bad signature. */
  badSignatures: number;
  /** The first request of each idempotency key. */
  received: Map<string, ReceivedWebhook>;
  /** Answers the next n requests with this status (e.g. 503, 429). */
  failNext(n: number, status: number): void;
  close(): Promise<void>;
}

export async function startWebhookReceiver(secret: string, port = 0): Promise<WebhookReceiver> {
  let failures = 0;
  let failStatus = 503;
  const state = { requests: 0, badSignatures: 0, received: new Map<string, ReceivedWebhook>() };
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (c: Buffer) => chunks.push(c));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      if (!verifyWebhook(secret, request.headers[SIGNATURE_HEADER] as string | undefined, body)) {
        state.badSignatures++;
        response.writeHead(401).end('bad signature');
        return;
      }
      if (failures > 0) {
        failures--;
        response.writeHead(failStatus, failStatus === 429 ? { 'retry-after': '0' } : {}).end('try later');
        return;
      }
      state.requests++;
      const key = String(request.headers['idempotency-key'] ?? '');
      const parsed = JSON.parse(body) as Record<string, unknown>;
      if (!state.received.has(key)) state.received.set(key, { id: key, personId: String(parsed.person_id), body: parsed });
      response.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const address = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${address.port}/hook`,
    get requests() {
      return state.requests;
    },
    get badSignatures() {
      return state.badSignatures;
    },
    received: state.received,
    failNext(n: number, status: number) {
      failures = n;
      failStatus = status;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
