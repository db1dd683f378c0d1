/**
 * A local stand-in for api.weixin.qq.com speaking the documented contract of the three calls the
 * WeChat channels make: the access token, the mini-program subscribe message and the official-account
 * template message. It checks tokens like the platform (unknown → 40001, expired → 42001), enforces a
 * subscription quota when asked to (no quota → 43101), refuses non-followers (43004), dedupes template
 * messages on openid + client_msg_id, and can be scripted to answer any errcode, HTTP status or delay.
 */
import { randomUUID } from 'node:crypto';
import { json, scriptedHttpAnswer, startLocalServer, type Answer, type IncomingRequest, type LocalServer, type ScriptedHttp } from './local-server.ts';

/** A scripted answer: an errcode (HTTP 200), or the HTTP fields of ScriptedHttp. */
export interface WeChatScripted extends ScriptedHttp {
  errcode?: number;
  errmsg?: string;
}

export interface WeChatCall {
  path: string;
  accessToken: string;
  body: Record<string, unknown>;
}

export interface WeChatDelivery {
  api: 'subscribe' | 'template';
  touser: string;
  msgid: number;
  body: Record<string, unknown>;
}

export interface WeChatServer extends LocalServer {
  readonly appId: string;
  readonly appSecret: string;
  /** Every call to a message API, in order, including those answered with an error. */
  readonly received: WeChatCall[];
  /** What people would see: accepted messages, once per openid + client_msg_id. */
  readonly delivered: WeChatDelivery[];
  /** Scripted answers for the next message API calls, used up in order. */
  readonly answers: WeChatScripted[];
  /** Scripted answers for the next token requests, used up in order. */
  readonly tokenAnswers: WeChatScripted[];
  tokenRequests: number;
  tokenExpiresInSeconds: number;
  /** Every token issued so far is now expired: calls carrying one get 42001. */
  expireTokens(): void;
  /** From now on a subscribe message needs quota (as on the platform: one per user consent). */
  enforceSubscriptionQuota: boolean;
  grantSubscription(openid: string, templateId: string, count?: number): void;
  /** Users who do not follow the official account (template messages get 43004). */
  readonly notFollowing: Set<string>;
}

const WECHAT_ERRMSG: Readonly<Record<number, string>> = {
  [-1]: 'system error',
  40001: 'invalid credential, access_token is invalid or not latest',
  40003: 'invalid openid',
  40013: 'invalid appid',
  40014: 'invalid access_token',
  40037: 'invalid template_id',
  40125: 'invalid appsecret',
  41030: 'invalid page',
  42001: 'access_token expired',
  43004: 'require subscribe',
  43101: 'user refuse to accept the msg',
  45009: 'reach max api daily quota limit',
  47003: 'argument invalid!',
};

export async function startWeChatServer(options: { appId?: string; appSecret?: string; tokenExpiresInSeconds?: number } = {}): Promise<WeChatServer> {
  const tokens = new Map<string, { expiresAt: number }>();
  const quota = new Map<string, number>();
  const templateMsgIds = new Map<string, number>();
  let nextMsgId = 1_000_000;

  const state = {
    appId: options.appId ?? 'wx-test-app',
    appSecret: options.appSecret ?? 'wx-test-secret',
    received: [] as WeChatCall[],
    delivered: [] as WeChatDelivery[],
    answers: [] as WeChatScripted[],
    tokenAnswers: [] as WeChatScripted[],
    tokenRequests: 0,
    tokenExpiresInSeconds: options.tokenExpiresInSeconds ?? 7200,
    enforceSubscriptionQuota: false,
    notFollowing: new Set<string>(),
    expireTokens(): void {
      for (const token of tokens.values()) token.expiresAt = 0;
    },
    grantSubscription(openid: string, templateId: string, count = 1): void {
      const key = `${openid} ${templateId}`;
      quota.set(key, (quota.get(key) ?? 0) + count);
    },
  };

  async function route(request: IncomingRequest): Promise<Answer> {
    if (request.method === 'GET' && request.path === '/cgi-bin/token') return issueToken(request);
    if (request.method !== 'POST') return json({ errcode: 43002, errmsg: 'require POST method' });
    if (request.path === '/cgi-bin/message/subscribe/send') return messageCall(request, 'subscribe');
    if (request.path === '/cgi-bin/message/template/send') return messageCall(request, 'template');
    return { status: 404, body: 'not found' };
  }

  async function issueToken(request: IncomingRequest): Promise<Answer> {
    state.tokenRequests++;
    const scripted = await scriptedAnswer(state.tokenAnswers.shift());
    if (scripted) return scripted;
    const { grant_type: grantType, appid, secret } = request.query;
    if (grantType !== 'client_credential') return errcode(40002);
    if (appid !== state.appId) return errcode(40013);
    if (secret !== state.appSecret) return errcode(40125);
    const value = `token-${randomUUID()}`;
    tokens.set(value, { expiresAt: Date.now() + state.tokenExpiresInSeconds * 1000 });
    return json({ access_token: value, expires_in: state.tokenExpiresInSeconds });
  }

  async function messageCall(request: IncomingRequest, api: 'subscribe' | 'template'): Promise<Answer> {
    const accessToken = request.query.access_token ?? '';
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(request.body) as Record<string, unknown>;
    } catch {
      return errcode(47001);
    }
    state.received.push({ path: request.path, accessToken, body });
    const token = tokens.get(accessToken);
    if (!token) return errcode(40001);
    if (Date.now() >= token.expiresAt) return errcode(42001);
    const scripted = await scriptedAnswer(state.answers.shift());
    if (scripted) return scripted;

    const touser = typeof body.touser === 'string' ? body.touser : '';
    const templateId = typeof body.template_id === 'string' ? body.template_id : '';
    if (!touser) return errcode(40003);
    if (!templateId) return errcode(40037);
    if (!isTemplateData(body.data)) return errcode(47003);

    if (api === 'subscribe') {
      if (state.enforceSubscriptionQuota) {
        const key = `${touser} ${templateId}`;
        const left = quota.get(key) ?? 0;
        if (left <= 0) return errcode(43101);
        quota.set(key, left - 1);
      }
      state.delivered.push({ api, touser, msgid: nextMsgId++, body });
      return json({ errcode: 0, errmsg: 'ok' });
    }

    if (state.notFollowing.has(touser)) return errcode(43004);
    // 防重入: one message per openid + client_msg_id (the doc promises 10 minutes; here for good).
    const dedupeKey = typeof body.client_msg_id === 'string' ? `${touser} ${body.client_msg_id}` : undefined;
    const seen = dedupeKey ? templateMsgIds.get(dedupeKey) : undefined;
    if (seen !== undefined) return json({ errcode: 0, errmsg: 'ok', msgid: seen });
    const msgid = nextMsgId++;
    if (dedupeKey) templateMsgIds.set(dedupeKey, msgid);
    state.delivered.push({ api, touser, msgid, body });
    return json({ errcode: 0, errmsg: 'ok', msgid });
  }

  const server = await startLocalServer(route);
  return Object.assign(state, server);
}

async function scriptedAnswer(script: WeChatScripted | undefined): Promise<Answer | undefined> {
  const http = await scriptedHttpAnswer(script);
  if (http) return http;
  if (script?.errcode !== undefined) return errcode(script.errcode, script.errmsg);
  return undefined;
}

function errcode(code: number, errmsg = WECHAT_ERRMSG[code] ?? 'error'): Answer {
  return json({ errcode: code, errmsg: `${errmsg} rid: ${randomUUID().slice(0, 8)}` });
}

function isTemplateData(data: unknown): boolean {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) return false;
  return Object.values(data).every((field) => field !== null && typeof field === 'object' && typeof (field as { value?: unknown }).value === 'string');
}
