/**
 * Access tokens for WeChat (official accounts, mini-programs) and WeCom. Both platforms hand out a
 * token valid for `expires_in` seconds (7200) and rate-limit the token endpoint itself, so a token is
 * cached, shared by every caller, fetched by one of them at a time, and refreshed a little before it
 * expires. A call the platform rejects for its token refreshes it once and is retried once.
 *
 * Contracts:
 * - WeChat `GET /cgi-bin/token?grant_type=client_credential&appid=&secret=` → `{ access_token, expires_in }`
 *   or `{ errcode, errmsg }` (developers.weixin.qq.com, 获取 Access token / getAccessToken).
 * - WeCom `GET /cgi-bin/gettoken?corpid=&corpsecret=` → `{ errcode: 0, errmsg, access_token, expires_in }`
 *   (developer.work.weixin.qq.com/document/path/91039).
 */
import { apiUrl, exchange, jsonObject, postJson, type NotSent } from './http.ts';

export interface AccessToken {
  value: string;
  expiresInSeconds: number;
}

/** Why no token could be had, already mapped onto what the send should report. */
export class AccessTokenError extends Error {
  override name = 'AccessTokenError';
  readonly result: NotSent;
  constructor(result: NotSent) {
    super(result.reason);
    this.result = result;
  }
}

export interface AccessTokenCacheOptions {
  /** Asks the platform for a new token; throws an AccessTokenError when it cannot. */
  fetchToken: () => Promise<AccessToken>;
  /**
   * How long before the platform's expiry to fetch a new token. WeChat keeps the previous token valid
   * for 5 minutes after a new one is issued, so 5 minutes early leaves no gap. Never more than half
   * the token's lifetime.
   */
  refreshMarginMs?: number;
  now?: () => number;
}

export class AccessTokenCache {
  readonly #fetchToken: () => Promise<AccessToken>;
  readonly #refreshMarginMs: number;
  readonly #now: () => number;
  #cached: { value: string; refreshAt: number } | null = null;
  #inFlight: Promise<string> | null = null;

  constructor(options: AccessTokenCacheOptions) {
    this.#fetchToken = options.fetchToken;
    this.#refreshMarginMs = options.refreshMarginMs ?? 5 * 60_000;
    this.#now = options.now ?? Date.now;
  }

  /** The cached token, or a fresh one; concurrent callers share a single fetch. */
  async get(): Promise<string> {
    if (this.#cached && this.#now() < this.#cached.refreshAt) return this.#cached.value;
    this.#inFlight ??= this.#refresh().finally(() => {
      this.#inFlight = null;
    });
    return this.#inFlight;
  }

  /**
   * Forgets the token. Given the token a call was rejected with, forgets it only if it is still the
   * cached one: another caller may already have replaced it, and that newer token is fine.
   */
  invalidate(rejectedToken?: string): void {
    if (rejectedToken === undefined || this.#cached?.value === rejectedToken) this.#cached = null;
  }

  async #refresh(): Promise<string> {
    const token = await this.#fetchToken();
    const lifetimeMs = token.expiresInSeconds * 1000;
    const margin = Math.min(this.#refreshMarginMs, lifetimeMs / 2);
    this.#cached = { value: token.value, refreshAt: this.#now() + lifetimeMs - margin };
    return token.value;
  }
}

export interface WeChatAppCredentials {
  /** e.g. https://api.weixin.qq.com */
  baseUrl: string;
  appId: string;
  appSecret: string;
  timeoutMs: number;
}

export interface WeComCorpCredentials {
  /** e.g. https://qyapi.weixin.qq.com */
  baseUrl: string;
  corpId: string;
  /** The secret of the app whose token is wanted (客户联系 secret for customer contact APIs). */
  corpSecret: string;
  timeoutMs: number;
}

export function weChatTokenFetcher(credentials: WeChatAppCredentials): () => Promise<AccessToken> {
  const url = apiUrl(credentials.baseUrl, '/cgi-bin/token', {
    grant_type: 'client_credential',
    appid: credentials.appId,
    secret: credentials.appSecret,
  });
  return () => fetchToken(url, credentials.timeoutMs);
}

export function weComTokenFetcher(credentials: WeComCorpCredentials): () => Promise<AccessToken> {
  const url = apiUrl(credentials.baseUrl, '/cgi-bin/gettoken', { corpid: credentials.corpId, corpsecret: credentials.corpSecret });
  return () => fetchToken(url, credentials.timeoutMs);
}

async function fetchToken(url: string, timeoutMs: number): Promise<AccessToken> {
  const sent = await exchange(url, { method: 'GET' }, timeoutMs);
  if (!sent.ok) throw new AccessTokenError(withReason(sent.result, 'access token'));
  const body = jsonObject(sent.reply.text);
  const value = body?.access_token;
  const expiresIn = body?.expires_in;
  if (typeof value === 'string' && value && typeof expiresIn === 'number' && expiresIn > 0) {
    return { value, expiresInSeconds: expiresIn };
  }
  // A wrong secret or a caller IP missing from the allow-list (40001, 40013, 40125, 40164, 60020…) is
  // a configuration problem, not the message's: retrying after someone fixes it will work.
  const detail = body && 'errcode' in body ? `errcode ${String(body.errcode)} ${String(body.errmsg ?? '')}`.trim() : `HTTP ${sent.reply.status}`;
  throw new AccessTokenError({ outcome: 'retry', reason: `access token: ${detail}` });
}

function withReason(result: NotSent, context: string): NotSent {
  return { ...result, reason: `${context}: ${result.reason}` };
}

/**
 * Errcodes that mean "this token is no good": 40001 invalid credential / not the latest token,
 * 40014 invalid access_token, 42001 access_token expired (WeChat 全局返回码; WeCom 全局错误码
 * developer.work.weixin.qq.com/document/path/90313 lists 40014 and 42001 with the same meaning).
 */
const TOKEN_REJECTED_ERRCODES: ReadonlySet<number> = new Set([40001, 40014, 42001]);

/** A platform answer carrying `errcode`/`errmsg` (absent errcode means 0). */
export interface PlatformReply {
  errcode: number;
  errmsg: string;
  body: Record<string, unknown>;
}

export type PlatformCall = { ok: true; reply: PlatformReply } | { ok: false; result: NotSent };

export interface TokenCallTarget {
  tokens: AccessTokenCache;
  baseUrl: string;
  timeoutMs: number;
  /** Awaited before each HTTP call to the API (a rate limiter), the retry after a refresh included. */
  beforeEachCall?: () => Promise<void>;
}

/**
 * POSTs JSON to `path?access_token=…`. When the platform rejects the token, forgets it, fetches a new
 * one and tries once more; a second rejection is reported as a retry.
 */
export async function postWithAccessToken(target: TokenCallTarget, path: string, payload: unknown): Promise<PlatformCall> {
  for (let attempt = 1; ; attempt++) {
    let token: string;
    try {
      token = await target.tokens.get();
    } catch (error) {
      if (error instanceof AccessTokenError) return { ok: false, result: error.result };
      throw error;
    }
    await target.beforeEachCall?.();
    const sent = await exchange(apiUrl(target.baseUrl, path, { access_token: token }), postJson(payload), target.timeoutMs);
    if (!sent.ok) return sent;
    const body = sent.reply.status < 300 ? jsonObject(sent.reply.text) : undefined;
    if (!body) return { ok: false, result: unreadable(sent.reply.status, sent.reply.text) };
    const errcode = typeof body.errcode === 'number' ? body.errcode : Number(body.errcode ?? 0);
    const reply = { errcode, errmsg: typeof body.errmsg === 'string' ? body.errmsg : '', body };
    if (!TOKEN_REJECTED_ERRCODES.has(errcode)) return { ok: true, reply };
    target.tokens.invalidate(token);
    if (attempt === 2) return { ok: false, result: { outcome: 'retry', reason: `access token rejected after a refresh: ${describe(reply)}` } };
  }
}

function unreadable(status: number, text: string): NotSent {
  // The platform answers 200 with an errcode; a 3xx/4xx is something else answering (a proxy, a wrong
  // base URL) and will answer the same next time.
  const reason = status < 300 ? `HTTP ${status}, not a JSON reply: ${text.slice(0, 200)}` : `HTTP ${status}: ${text.slice(0, 200)}`;
  return status >= 300 ? { outcome: 'failed', reason } : { outcome: 'retry', reason };
}

/** `errcode 43101 user refuse to accept the msg` */
export function describe(reply: PlatformReply): string {
  return `errcode ${reply.errcode}${reply.errmsg ? ` ${reply.errmsg}` : ''}`;
}
