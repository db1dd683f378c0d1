/**
 * Channels: the ways a plan reaches a person. Each kind is a client of a platform's documented HTTP
 * (or SMTP) contract; the dispatcher hands it one message at a time and maps the result onto the
 * delivery ledger. Clients never retry on their own: they say what happened, the ledger decides.
 */
import { safeExcerpt } from '../kernel/excerpt.ts';

export interface OutboundMessage {
  /** The ledger's key for this send: the same on every retry, so a platform (or receiver) can dedupe. */
  deliveryId: string;
  workspaceId: string;
  personId: string;
  /** The identifier the channel reaches the person by (email, phone, openid, external_userid); null for webhook. */
  address: string | null;
  /** The rendered template: which fields depends on the channel kind (see each client). */
  content: Record<string, unknown>;
  plan: { key: string; runId: string; variant: string; step: string };
}

export type SendResult =
  /** The platform accepted it. `delivered` when acceptance already means it reached the person. */
  | { outcome: 'sent'; providerId?: string; delivered?: boolean }
  /** Worth trying again later: 5xx, 429, a timeout, a network error. */
  | { outcome: 'retry'; reason: string; retryAfterMs?: number }
  /** Will never work as asked (bad address, rejected content): not retried. */
  | { outcome: 'failed'; reason: string }
  /** Stopped for this person and template until something changes (e.g. no subscription quota left). */
  | { outcome: 'parked'; reason: string };

export interface ChannelClient {
  readonly kind: string;
  send(message: OutboundMessage): Promise<SendResult>;
  /** Sends many at once where the platform takes a list (WeCom mass sends): one result per message, in order. */
  sendBatch?(messages: OutboundMessage[]): Promise<SendResult[]>;
  close?(): Promise<void>;
}

/**
 * What the ledger keeps of a failure: its code (the text before the first colon: `HTTP 400`,
 * `network`, `SMTP 550`, `egress refused`) and a short excerpt with anything secret-looking redacted.
 * The remote side wrote most of it, and operators (and anyone a channel URL points at) read it.
 */
export function ledgerReason(reason: string): string {
  const colon = reason.indexOf(':');
  const code = colon > 0 && colon <= 40 ? reason.slice(0, colon) : '';
  const detail = safeExcerpt(code ? reason.slice(colon + 1) : reason, 200);
  return code ? `${safeExcerpt(code, 40)}: ${detail}` : detail;
}

/** Maps an HTTP status onto retry/failed the same way for every HTTP channel. */
export function outcomeOfHttpStatus(status: number, body: string, retryAfterHeader?: string | null): SendResult | undefined {
  if (status >= 200 && status < 300) return undefined;
  const excerpt = safeExcerpt(body);
  const reason = `HTTP ${status}${excerpt ? `: ${excerpt}` : ''}`;
  if (status === 429 || status === 408 || status >= 500) {
    const seconds = retryAfterHeader ? Number(retryAfterHeader) : NaN;
    return { outcome: 'retry', reason, retryAfterMs: Number.isFinite(seconds) ? seconds * 1000 : undefined };
  }
  return { outcome: 'failed', reason };
}

/** A network error or timeout from fetch: always worth a retry. */
export function outcomeOfNetworkError(error: unknown): SendResult {
  const e = error as Error & { cause?: { code?: string } };
  const detail = e.name === 'TimeoutError' || e.name === 'AbortError' ? 'timed out' : (e.cause?.code ?? e.message);
  return { outcome: 'retry', reason: `network: ${detail}` };
}
