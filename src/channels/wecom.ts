/**
 * WeCom customer contact mass messages (企业群发). The platform does not send anything on the API
 * call: `externalcontact/add_msg_template` creates a task for the staff member (sender), who confirms
 * it in WeCom, and only then do customers receive it. So a send is "sent, not delivered", and the
 * confirmation is tracked with `externalcontact/get_groupmsg_send_result`.
 *
 * Contracts (developer.work.weixin.qq.com):
 * - 创建企业群发 /document/path/92135: POST add_msg_template `{ chat_type: 'single', external_userid[],
 *   sender, text: { content }, attachments[] }` → `{ errcode, errmsg, fail_list, msgid }`. At most
 *   10 000 customers and 9 attachments per task; text up to 4000 bytes.
 * - 获取企业的全部群发记录 › 获取企业群发成员执行结果 (/document/path/93338): POST
 *   get_groupmsg_send_result `{ msgid, userid, limit, cursor }` → `{ errcode, errmsg, next_cursor,
 *   send_list: [{ external_userid, chat_id, userid, status, send_time }] }`, status 0 not sent, 1 sent,
 *   2 not a friend, 3 the customer already got their allowance of mass messages.
 *
 * Address: the customer's external_userid. Content: `sender` (the staff userid), `text`, optional
 * `attachments` (the API's own attachment objects).
 */
import type { ChannelClient, OutboundMessage, SendResult } from './channel.ts';
import { AccessTokenCache, describe, postWithAccessToken, weComTokenFetcher, type PlatformReply } from './access-token.ts';
import { textField } from './content.ts';
import type { NotSent } from './http.ts';
import { CallRateLimiter } from '../kernel/rate-limiter.ts';

/**
 * How many mass messages one customer may receive from the enterprise (企业群发 and staff-created
 * ones together), per 创建企业群发 (/document/path/92135, updated 2025-11-17): by default as many per
 * calendar month as the month has days; an admin can change the rule (群发助手 → 设置群发规则) to 7 per
 * week or 1 per day. Past it the customer silently gets nothing: their send status comes back as 3.
 * (Older versions of the page said 4 per natural month, and the JS-SDK page /96997 describes the
 * per-member default as 1 per day: the rule in force is the corp's setting, hence the options.)
 */
export type WeComMassMessageRule = 'days-per-month' | 'seven-per-week' | 'one-per-day';

/** The allowance under a rule for the period containing `date`, in China time (the platform's calendar). */
export function weComMassMessageAllowance(rule: WeComMassMessageRule, date: Date): { per: 'month' | 'week' | 'day'; max: number } {
  if (rule === 'seven-per-week') return { per: 'week', max: 7 };
  if (rule === 'one-per-day') return { per: 'day', max: 1 };
  const china = new Date(date.getTime() + 8 * 3_600_000);
  return { per: 'month', max: new Date(Date.UTC(china.getUTCFullYear(), china.getUTCMonth() + 1, 0)).getUTCDate() };
}

/**
 * 访问频率限制 (/document/path/90454, 基础频率): each corp may call one API at most 10 000 times a minute
 * and 150 000 times an hour; a breach blocks the corp for 60 s / 60 min. This limiter counts all of a
 * corp's calls together, which is stricter than per API and keeps one budget to reason about.
 */
const WECOM_API_CALLS_PER_MINUTE = 10_000;
const WECOM_API_CALLS_PER_HOUR = 150_000;
const WECOM_MAX_CUSTOMERS_PER_MASS_SEND = 10_000;
const WECOM_MAX_ATTACHMENTS = 9;
const MAX_TEXT_BYTES = 4000;

export type WeComAttachment =
  | { msgtype: 'image'; image: { media_id?: string; pic_url?: string } }
  | { msgtype: 'link'; link: { title: string; url: string; picurl?: string; desc?: string } }
  | { msgtype: 'miniprogram'; miniprogram: { title: string; pic_media_id: string; appid: string; page: string } }
  | { msgtype: 'video'; video: { media_id: string } }
  | { msgtype: 'file'; file: { media_id: string } };

const ATTACHMENT_TYPES = new Set(['image', 'link', 'miniprogram', 'video', 'file']);

export interface MassSendRequest {
  /** The staff member's userid: the task goes to them to confirm. */
  sender: string;
  externalUserIds: string[];
  text?: string;
  attachments?: WeComAttachment[];
}

export type MassSendCreated = { outcome: 'created'; msgid: string; failedExternalUserIds: string[] };

export type RecipientStatus = 'unsent' | 'sent' | 'not_friend' | 'limit_reached';

export interface RecipientResult {
  externalUserId: string;
  sender: string;
  status: RecipientStatus;
  sentAt?: Date;
}

export type SendResultsPage = { outcome: 'ok'; recipients: RecipientResult[]; nextCursor?: string };

export interface WeComConfig {
  corpId: string;
  /** The 客户联系 secret (or that of an app allowed to call customer contact APIs). */
  corpSecret: string;
  /** https://qyapi.weixin.qq.com, or a local contract server in tests. */
  baseUrl: string;
  timeoutMs: number;
  /** Calls per minute this process allows itself for the corp: 10 000 (the platform's limit) by default. */
  callsPerMinute?: number;
  tokens?: AccessTokenCache;
  /** A limiter shared with other clients of the same corp; by default one per corp in this process. */
  rateLimiter?: CallRateLimiter;
}

const limitersByCorp = new Map<string, CallRateLimiter>();

/** One limiter per corp id in this process, made with the first caller's rate. */
export function sharedRateLimiter(corpId: string, callsPerMinute = WECOM_API_CALLS_PER_MINUTE): CallRateLimiter {
  let limiter = limitersByCorp.get(corpId);
  if (!limiter) {
    limiter = new CallRateLimiter({
      windows: [
        { limit: callsPerMinute, windowMs: 60_000 },
        { limit: Math.max(callsPerMinute, WECOM_API_CALLS_PER_HOUR), windowMs: 3_600_000 },
      ],
    });
    limitersByCorp.set(corpId, limiter);
  }
  return limiter;
}

export class WeComCustomerContactClient implements ChannelClient {
  readonly kind = 'wecom';
  readonly #config: WeComConfig;
  readonly #tokens: AccessTokenCache;
  readonly #limiter: CallRateLimiter;

  constructor(config: WeComConfig) {
    this.#config = config;
    this.#tokens = config.tokens ?? new AccessTokenCache({ fetchToken: weComTokenFetcher(config) });
    this.#limiter = config.rateLimiter ?? sharedRateLimiter(config.corpId, config.callsPerMinute);
  }

  /**
   * Creates the task for one customer: sent (the task exists), not delivered until the sender
   * confirms. Each call is a separate task for the staff member to confirm, so a plan reaching many
   * customers of one sender should group them into one createMassSend instead.
   */
  async send(message: OutboundMessage): Promise<SendResult> {
    const [result] = await this.sendBatch([message]);
    return result;
  }

  /**
   * One task per sender and message (not per customer): the messages are grouped by the staff
   * member who sends them and by what they say, up to 10,000 customers a task, so each staff member
   * confirms one mass send in WeCom for all their customers of a plan.
   */
  async sendBatch(messages: OutboundMessage[]): Promise<SendResult[]> {
    const results: SendResult[] = new Array(messages.length);
    const groups = new Map<string, number[]>();
    messages.forEach((message, i) => {
      const sender = textField(message.content, 'sender');
      const attachments = message.content.attachments;
      if (!message.address) results[i] = { outcome: 'failed', reason: 'no external_userid for this person' };
      else if (!sender) results[i] = { outcome: 'failed', reason: 'content.sender (the staff userid) is missing' };
      else if (attachments !== undefined && !isAttachmentList(attachments)) results[i] = { outcome: 'failed', reason: 'content.attachments must be a list of WeCom attachments' };
      else {
        const key = JSON.stringify([sender, textField(message.content, 'text') ?? '', attachments ?? []]);
        const group = groups.get(key);
        if (group) group.push(i);
        else groups.set(key, [i]);
      }
    });
    for (const [key, indexes] of groups) {
      const [sender, text, attachments] = JSON.parse(key) as [string, string, WeComAttachment[]];
      for (let start = 0; start < indexes.length; start += WECOM_MAX_CUSTOMERS_PER_MASS_SEND) {
        const part = indexes.slice(start, start + WECOM_MAX_CUSTOMERS_PER_MASS_SEND);
        const created = await this.createMassSend({
          sender,
          externalUserIds: part.map((i) => messages[i].address!),
          text: text || undefined,
          attachments: attachments.length ? attachments : undefined,
        });
        const failed = created.outcome === 'created' ? new Set(created.failedExternalUserIds) : new Set<string>();
        for (const i of part) {
          if (created.outcome !== 'created') results[i] = created;
          else if (failed.has(messages[i].address!)) results[i] = { outcome: 'failed', reason: `WeCom cannot send to this external_userid from ${sender} (fail_list)` };
          else results[i] = { outcome: 'sent', providerId: created.msgid, delivered: false };
        }
      }
    }
    return results;
  }

  async createMassSend(request: MassSendRequest): Promise<MassSendCreated | NotSent> {
    const invalid = checkMassSend(request);
    if (invalid) return { outcome: 'failed', reason: invalid };
    const payload = {
      chat_type: 'single',
      external_userid: request.externalUserIds,
      sender: request.sender,
      text: request.text ? { content: request.text } : undefined,
      attachments: request.attachments?.length ? request.attachments : undefined,
    };
    const call = await this.#call('/cgi-bin/externalcontact/add_msg_template', payload);
    if (!call.ok) return call.result;
    if (call.reply.errcode !== 0) return outcomeOfWeComError(call.reply);
    const msgid = call.reply.body.msgid;
    if (typeof msgid !== 'string' || !msgid) return { outcome: 'retry', reason: 'add_msg_template answered without a msgid' };
    const failList = call.reply.body.fail_list;
    return { outcome: 'created', msgid, failedExternalUserIds: Array.isArray(failList) ? failList.filter((id): id is string => typeof id === 'string') : [] };
  }

  /**
   * One page of a task's per-customer results for one sender: whether they confirmed and who got it.
   * Pass `nextCursor` back as `cursor` until it is absent.
   */
  async sendResults(msgid: string, options: { sender: string; limit?: number; cursor?: string }): Promise<SendResultsPage | NotSent> {
    const payload = { msgid, userid: options.sender, limit: options.limit ?? 1000, cursor: options.cursor || undefined };
    const call = await this.#call('/cgi-bin/externalcontact/get_groupmsg_send_result', payload);
    if (!call.ok) return call.result;
    if (call.reply.errcode !== 0) return outcomeOfWeComError(call.reply);
    const list = Array.isArray(call.reply.body.send_list) ? call.reply.body.send_list : [];
    const recipients = list.flatMap((entry): RecipientResult[] => {
      if (entry === null || typeof entry !== 'object') return [];
      const row = entry as Record<string, unknown>;
      if (typeof row.external_userid !== 'string') return [];
      const status = RECIPIENT_STATUS[Number(row.status)] ?? 'unsent';
      const sentAt = typeof row.send_time === 'number' && row.send_time > 0 ? new Date(row.send_time * 1000) : undefined;
      return [{ externalUserId: row.external_userid, sender: typeof row.userid === 'string' ? row.userid : options.sender, status, ...(sentAt ? { sentAt } : {}) }];
    });
    const next = call.reply.body.next_cursor;
    return { outcome: 'ok', recipients, ...(typeof next === 'string' && next ? { nextCursor: next } : {}) };
  }

  #call(path: string, payload: unknown): ReturnType<typeof postWithAccessToken> {
    const { baseUrl, timeoutMs } = this.#config;
    return postWithAccessToken({ tokens: this.#tokens, baseUrl, timeoutMs, beforeEachCall: () => this.#limiter.acquire() }, path, payload);
  }
}

const RECIPIENT_STATUS: Record<number, RecipientStatus> = { 0: 'unsent', 1: 'sent', 2: 'not_friend', 3: 'limit_reached' };

function checkMassSend(request: MassSendRequest): string | undefined {
  if (!request.sender) return 'sender (the staff userid) is missing';
  if (request.externalUserIds.length === 0) return 'no external_userid to send to';
  if (request.externalUserIds.length > WECOM_MAX_CUSTOMERS_PER_MASS_SEND) return `at most ${WECOM_MAX_CUSTOMERS_PER_MASS_SEND} customers per mass send`;
  const attachments = request.attachments ?? [];
  if (!request.text && attachments.length === 0) return 'nothing to send: no text and no attachments';
  if (attachments.length > WECOM_MAX_ATTACHMENTS) return `at most ${WECOM_MAX_ATTACHMENTS} attachments per message`;
  if (request.text && Buffer.byteLength(request.text) > MAX_TEXT_BYTES) return `text is longer than ${MAX_TEXT_BYTES} bytes`;
  return undefined;
}

function isAttachmentList(value: unknown): value is WeComAttachment[] {
  return (
    Array.isArray(value) &&
    value.every((item) => {
      if (item === null || typeof item !== 'object') return false;
      const type = (item as { msgtype?: unknown }).msgtype;
      return typeof type === 'string' && ATTACHMENT_TYPES.has(type) && typeof (item as Record<string, unknown>)[type] === 'object';
    })
  );
}

/** Errcodes per WeCom 全局错误码 (/document/path/90313). */
function outcomeOfWeComError(reply: PlatformReply): NotSent {
  const reason = describe(reply);
  switch (reply.errcode) {
    case -1: // 系统繁忙
    case 6000: // 数据版本冲突
    case 45033: // 接口并发调用超过限制
    case 41063: // 群发消息正在被派发中，请稍后再试 (results asked for right after creating)
      return { outcome: 'retry', reason };
    case 45009: // 接口调用超过限制: a per-minute breach blocks the corp for 60 s
      return { outcome: 'retry', reason, retryAfterMs: 60_000 };
    case 40003: // 无效的UserID (sender)
    case 40096: // 不合法的外部联系人userid
    case 60111: // UserID不存在
    case 84061: // 不存在外部联系人的关系
    case 48002: // API接口无权限调用 (the secret is not the customer contact one)
    case 45002: // 消息内容大小超过限制
    case 40007: // 不合法的media_id (temporary media lives 3 days)
    default:
      return { outcome: 'failed', reason };
  }
}
