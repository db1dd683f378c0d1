/**
 * SMS, two ways:
 * - HttpSmsClient: a provider-neutral contract for a gateway the brand runs or buys. POST JSON
 *   `{ to, text, idempotencyKey }` with `Authorization: Bearer <token>`; a 2xx `{ id }` is sent. The
 *   idempotency key is the delivery id, so the gateway can drop a retried duplicate.
 * - AliyunSmsClient: Alibaba Cloud SMS `SendSms` (dysmsapi, API version 2017-05-25), an RPC-style call
 *   signed with HMAC-SHA1 over the canonicalised query (签名机制, help.aliyun.com/document_detail/
 *   28839.html; for SMS alibabacloud.com/help/en/sms/signature-method and the worked example of
 *   HTTP协议及签名, help.aliyun.com/document_detail/56189.html). Content: `templateCode`, `templateParam` (object or
 *   flattened `templateParam.name`), optional `signName`. OutId carries the delivery id into receipts;
 *   Aliyun does not dedupe on it, so a retry after a lost reply can send twice.
 *
 * Address: the phone number (mainland numbers as 11 digits, others with their country code).
 */
import { createHmac, randomUUID } from 'node:crypto';
import { outcomeOfHttpStatus, type ChannelClient, type OutboundMessage, type SendResult } from './channel.ts';
import { nestedTextFields, textField } from './content.ts';
import { exchange, jsonObject, postJson } from './http.ts';

export interface HttpSmsConfig {
  /** The gateway's send endpoint. */
  url: string;
  /** Sent as `Authorization: Bearer <token>`. */
  token: string;
  timeoutMs: number;
}

export class HttpSmsClient implements ChannelClient {
  readonly kind = 'sms';
  readonly #config: HttpSmsConfig;

  constructor(config: HttpSmsConfig) {
    this.#config = config;
  }

  async send(message: OutboundMessage): Promise<SendResult> {
    if (!message.address) return { outcome: 'failed', reason: 'no phone number for this person' };
    const text = textField(message.content, 'text');
    if (!text) return { outcome: 'failed', reason: 'content.text is missing' };
    const request = postJson({ to: message.address, text, idempotencyKey: message.deliveryId }, { authorization: `Bearer ${this.#config.token}` });
    const sent = await exchange(this.#config.url, request, this.#config.timeoutMs);
    if (!sent.ok) return sent.result;
    const rejected = outcomeOfHttpStatus(sent.reply.status, sent.reply.text);
    if (rejected) return rejected;
    const id = jsonObject(sent.reply.text)?.id;
    return { outcome: 'sent', ...(typeof id === 'string' || typeof id === 'number' ? { providerId: String(id) } : {}) };
  }
}

export interface AliyunSmsConfig {
  accessKeyId: string;
  accessKeySecret: string;
  /** The approved signature (签名) used when the content names none. */
  signName: string;
  /** https://dysmsapi.aliyuncs.com by default. */
  baseUrl?: string;
  regionId?: string;
  timeoutMs: number;
}

export class AliyunSmsClient implements ChannelClient {
  readonly kind = 'sms';
  readonly #config: AliyunSmsConfig;

  constructor(config: AliyunSmsConfig) {
    this.#config = config;
  }

  async send(message: OutboundMessage): Promise<SendResult> {
    if (!message.address) return { outcome: 'failed', reason: 'no phone number for this person' };
    const templateCode = textField(message.content, 'templateCode');
    if (!templateCode) return { outcome: 'failed', reason: 'content.templateCode is missing' };
    const templateParam = nestedTextFields(message.content, 'templateParam');
    const params: Record<string, string> = {
      AccessKeyId: this.#config.accessKeyId,
      Action: 'SendSms',
      Format: 'JSON',
      RegionId: this.#config.regionId ?? 'cn-hangzhou',
      SignatureMethod: 'HMAC-SHA1',
      SignatureNonce: randomUUID(),
      SignatureVersion: '1.0',
      Timestamp: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
      Version: '2017-05-25',
      PhoneNumbers: message.address,
      SignName: textField(message.content, 'signName') ?? this.#config.signName,
      TemplateCode: templateCode,
      OutId: message.deliveryId,
    };
    if (Object.keys(templateParam).length > 0) params.TemplateParam = JSON.stringify(templateParam);
    const body = `${canonicalQuery(params)}&Signature=${percentEncode(signRpcRequest('POST', params, this.#config.accessKeySecret))}`;
    const sent = await exchange(
      (this.#config.baseUrl ?? 'https://dysmsapi.aliyuncs.com').replace(/\/+$/, '') + '/',
      { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body },
      this.#config.timeoutMs,
    );
    if (!sent.ok) return sent.result;
    const reply = jsonObject(sent.reply.text);
    if (typeof reply?.Code !== 'string')
      return outcomeOfHttpStatus(sent.reply.status, sent.reply.text) ?? { outcome: 'retry', reason: `unreadable reply: ${sent.reply.text.slice(0, 200)}` };
    return outcomeOfAliyunCode(reply.Code, reply);
  }
}

/**
 * Aliyun's percent-encoding (RFC 3986): everything but A–Z a–z 0–9 - _ . ~ as %XY of its UTF-8 bytes,
 * a space as %20. encodeURIComponent leaves ! ' ( ) * alone, so those are done by hand.
 */
export function percentEncode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Parameters sorted by name, each name and value percent-encoded, joined with & (Signature excluded). */
function canonicalQuery(params: Record<string, string>): string {
  return Object.keys(params)
    .filter((name) => name !== 'Signature')
    .sort()
    .map((name) => `${percentEncode(name)}=${percentEncode(params[name])}`)
    .join('&');
}

/** Base64(HMAC-SHA1(secret + "&", method + "&" + percentEncode("/") + "&" + percentEncode(canonical query))). */
export function signRpcRequest(method: 'GET' | 'POST', params: Record<string, string>, accessKeySecret: string): string {
  const stringToSign = `${method}&${percentEncode('/')}&${percentEncode(canonicalQuery(params))}`;
  return createHmac('sha1', `${accessKeySecret}&`).update(stringToSign, 'utf8').digest('base64');
}

// Per SMS 国内消息API错误码 (help.aliyun.com/zh/sms/developer-reference/api-error-codes, document_detail/101346).
/** Flow control: per-number limits (isv.BUSINESS_LIMIT_CONTROL), the account's own daily/monthly caps, API throttling, platform faults. */
const RETRY_CODES = new Set([
  'isv.BUSINESS_LIMIT_CONTROL',
  'isv.DAY_LIMIT_CONTROL',
  'isv.MONTH_LIMIT_CONTROL',
  'Throttling',
  'Throttling.User',
  'Throttling.Api',
  'ServiceUnavailable',
  'InternalError',
]);
/** The account, not the message: a bad key, no permission, no balance. Fixing it makes the send work. */
const ACCOUNT_CODES = new Set([
  'InvalidAccessKeyId.NotFound',
  'InvalidAccessKeyId.Inactive',
  'SignatureDoesNotMatch',
  'isp.RAM_PERMISSION_DENY',
  'isv.ACCOUNT_NOT_EXISTS',
  'isv.ACCOUNT_ABNORMAL',
  'isv.PRODUCT_UN_SUBSCRIPT',
  'isv.PRODUCT_UNSUBSCRIBE',
  'isv.OUT_OF_SERVICE',
  'isv.AMOUNT_NOT_ENOUGH',
  'isv.DENY_IP_RANGE',
]);

/**
 * OK → sent (BizId; the carrier's receipt comes later). Flow control and account problems → retry;
 * a bad number, template, parameters, signature or content (isv.MOBILE_NUMBER_ILLEGAL,
 * isv.SMS_TEMPLATE_ILLEGAL, isv.TEMPLATE_MISSING_PARAMETERS, isv.INVALID_JSON_PARAM,
 * isv.SMS_SIGNATURE_ILLEGAL, isv.SMS_CONTENT_ILLEGAL, isv.BLACK_KEY_CONTROL_LIMIT …) → failed.
 * Unknown isp.* (platform side) codes are retried, other unknown codes fail.
 */
function outcomeOfAliyunCode(code: string, reply: Record<string, unknown>): SendResult {
  if (code === 'OK') {
    const bizId = reply.BizId;
    return { outcome: 'sent', ...(typeof bizId === 'string' && bizId ? { providerId: bizId } : {}), delivered: false };
  }
  const reason = `${code}: ${typeof reply.Message === 'string' ? reply.Message : ''}${typeof reply.RequestId === 'string' ? ` (RequestId ${reply.RequestId})` : ''}`;
  if (RETRY_CODES.has(code) || ACCOUNT_CODES.has(code) || code.startsWith('isp.')) return { outcome: 'retry', reason };
  return { outcome: 'failed', reason };
}
