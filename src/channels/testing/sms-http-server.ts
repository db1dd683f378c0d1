/**
 * A local gateway speaking Siyu's provider-neutral SMS contract: POST JSON `{ to, text, idempotencyKey }`
 * with `Authorization: Bearer <token>` → 2xx `{ id }`. A repeated idempotency key gets the first
 * answer again and sends nothing. Wrong token → 401, bad body → 400; scripted answers add any status
 * or delay.
 */
import { randomUUID } from 'node:crypto';
import { json, scriptedHttpAnswer, startLocalServer, type Answer, type IncomingRequest, type LocalServer, type ScriptedHttp } from './local-server.ts';

export interface SmsHttpRequest {
  path: string;
  authorization: string | undefined;
  body: unknown;
}

export interface SmsHttpServer extends LocalServer {
  readonly token: string;
  /** The URL clients post to. */
  readonly sendUrl: string;
  readonly received: SmsHttpRequest[];
  readonly delivered: Array<{ id: string; to: string; text: string; idempotencyKey: string }>;
  readonly answers: ScriptedHttp[];
}

export async function startSmsHttpServer(options: { token?: string } = {}): Promise<SmsHttpServer> {
  const byKey = new Map<string, string>();
  const state = {
    token: options.token ?? 'gateway-token',
    received: [] as SmsHttpRequest[],
    delivered: [] as Array<{ id: string; to: string; text: string; idempotencyKey: string }>,
    answers: [] as ScriptedHttp[],
  };

  async function route(request: IncomingRequest): Promise<Answer> {
    if (request.method !== 'POST' || request.path !== '/sms') return { status: 404, body: 'not found' };
    let body: unknown;
    try {
      body = JSON.parse(request.body);
    } catch {
      body = request.body;
    }
    const authorization = request.headers.authorization;
    state.received.push({ path: request.path, authorization, body });
    if (authorization !== `Bearer ${state.token}`) return json({ error: 'unauthorized' }, 401);
    const scripted = await scriptedHttpAnswer(state.answers.shift());
    if (scripted) return scripted;
    const { to, text, idempotencyKey } = (body ?? {}) as Record<string, unknown>;
    if (typeof to !== 'string' || typeof text !== 'string' || typeof idempotencyKey !== 'string' || !to || !text || !idempotencyKey) {
      return json({ error: 'to, text and idempotencyKey are required strings' }, 400);
    }
    const seen = byKey.get(idempotencyKey);
    if (seen) return json({ id: seen });
    const id = `sms-${randomUUID()}`;
    byKey.set(idempotencyKey, id);
    state.delivered.push({ id, to, text, idempotencyKey });
    return json({ id }, 201);
  }

  const server = await startLocalServer(route);
  return Object.assign(state, server, { sendUrl: `${server.url}/sms` });
}
