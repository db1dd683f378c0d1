/**
 * The webhook channel: POSTs each message as JSON to the brand's own endpoint, signed so the
 * receiver can trust it (HMAC-SHA256 over "<timestamp>.<body>", as Stripe and GitHub do) and keyed
 * so the receiver can drop a repeat (`Idempotency-Key` is the ledger's delivery id, the same on
 * every retry).
 */
import crypto from 'node:crypto';
import { outcomeOfHttpStatus, type ChannelClient, type OutboundMessage, type SendResult } from './channel.ts';
import { exchange } from './http.ts';

export interface WebhookConfig {
  url: string;
  /** The shared secret for the signature (from the environment, never stored). */
  secret: string;
  timeoutMs?: number;
  headers?: Record<string, string>;
}

export const SIGNATURE_HEADER = 'x-siyu-signature';

function signWebhook(secret: string, timestamp: number, body: string): string {
  const mac = crypto.createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
  return `t=${timestamp},v1=${mac}`;
}

/** Checks a signature header against the body; `toleranceSeconds` bounds replays of an old request. */
export function verifyWebhook(secret: string, header: string | undefined, body: string, toleranceSeconds = 300, now = Date.now()): boolean {
  const parts = Object.fromEntries((header ?? '').split(',').map((p) => p.split('=', 2) as [string, string]));
  const timestamp = Number(parts.t);
  if (!Number.isFinite(timestamp) || !parts.v1 || Math.abs(now / 1000 - timestamp) > toleranceSeconds) return false;
  const expected = Buffer.from(signWebhook(secret, timestamp, body).split('v1=')[1], 'hex');
  const given = Buffer.from(parts.v1, 'hex');
  return given.length === expected.length && crypto.timingSafeEqual(given, expected);
}

export class WebhookClient implements ChannelClient {
  readonly kind = 'webhook';
  private readonly config: WebhookConfig;
  constructor(config: WebhookConfig) {
    this.config = config;
  }

  async send(message: OutboundMessage): Promise<SendResult> {
    const body = JSON.stringify({
      id: message.deliveryId,
      person_id: message.personId,
      address: message.address,
      plan: message.plan.key,
      run: message.plan.runId,
      variant: message.plan.variant,
      step: message.plan.step,
      content: message.content,
    });
    const signature = signWebhook(this.config.secret, Math.floor(Date.now() / 1000), body);
    const sent = await exchange(
      this.config.url,
      { method: 'POST', headers: { ...this.config.headers, 'content-type': 'application/json', 'idempotency-key': message.deliveryId, [SIGNATURE_HEADER]: signature }, body },
      this.config.timeoutMs ?? 10_000,
    );
    if (!sent.ok) return sent.result;
    const problem = outcomeOfHttpStatus(sent.reply.status, sent.reply.text);
    if (problem) return problem;
    // The receiver has it: for a webhook, accepted is delivered.
    return { outcome: 'sent', delivered: true };
  }
}
