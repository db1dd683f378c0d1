/**
 * A local stand-in for dysmsapi.aliyuncs.com answering `SendSms` like Aliyun: it checks the common
 * parameters, the timestamp (15-minute window), the nonce (no replays) and the HMAC-SHA1 signature,
 * computed here independently of the client from the documented recipe, then the number, signature
 * name, template and template parameters. Scripted answers can return any Code, HTTP status or delay.
 */
import { createHmac, randomUUID } from 'node:crypto';
import { json, scriptedHttpAnswer, startLocalServer, type Answer, type IncomingRequest, type LocalServer, type ScriptedHttp } from './local-server.ts';

export interface AliyunScripted extends ScriptedHttp {
  /** Answer with this Code (HTTP 200 unless `status` is given with it). */
  code?: string;
  message?: string;
}

export interface AliyunSmsRequest {
  method: string;
  params: Record<string, string>;
}

export interface AliyunSmsDelivery {
  phoneNumbers: string;
  signName: string;
  templateCode: string;
  templateParam: Record<string, string>;
  outId?: string;
  bizId: string;
}

export interface AliyunSmsServer extends LocalServer {
  readonly accessKeyId: string;
  readonly accessKeySecret: string;
  /** Requests whose signature checked out, in order. */
  readonly received: AliyunSmsRequest[];
  readonly delivered: AliyunSmsDelivery[];
  readonly answers: AliyunScripted[];
  /** Approved signature names. */
  readonly signNames: Set<string>;
  /** Approved templates and the variables each needs. */
  readonly templates: Map<string, string[]>;
}

const COMMON = ['AccessKeyId', 'Action', 'Format', 'SignatureMethod', 'SignatureNonce', 'SignatureVersion', 'Timestamp', 'Version', 'Signature'];

export async function startAliyunSmsServer(
  options: { accessKeyId?: string; accessKeySecret?: string; signNames?: string[]; templates?: Record<string, string[]> } = {},
): Promise<AliyunSmsServer> {
  const usedNonces = new Set<string>();
  const state = {
    accessKeyId: options.accessKeyId ?? 'LTAI-test-key',
    accessKeySecret: options.accessKeySecret ?? 'test-secret',
    received: [] as AliyunSmsRequest[],
    delivered: [] as AliyunSmsDelivery[],
    answers: [] as AliyunScripted[],
    signNames: new Set(options.signNames ?? ['思域测试']),
    templates: new Map(Object.entries(options.templates ?? { SMS_000001: ['name'] })),
  };

  async function route(request: IncomingRequest): Promise<Answer> {
    if (request.path !== '/') return { status: 404, body: 'not found' };
    const params = Object.fromEntries(request.method === 'POST' ? new URLSearchParams(request.body) : new URLSearchParams(request.query));
    const missing = COMMON.find((name) => !params[name]);
    if (missing) return error(400, 'MissingParameter', `The input parameter "${missing}" that is mandatory for processing this request is not supplied.`);
    if (params.SignatureMethod !== 'HMAC-SHA1' || params.SignatureVersion !== '1.0') return error(400, 'InvalidParameter', 'unsupported signature method');
    if (params.AccessKeyId !== state.accessKeyId) return error(404, 'InvalidAccessKeyId.NotFound', 'Specified access key is not found.');
    const expected = aliyunSignature(request.method, params, state.accessKeySecret);
    if (params.Signature !== expected) return error(400, 'SignatureDoesNotMatch', 'Specified signature is not matched with our calculation.');
    const timestamp = Date.parse(params.Timestamp);
    if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(params.Timestamp) || Number.isNaN(timestamp))
      return error(400, 'InvalidTimeStamp.Format', 'Specified time stamp or date value is not well formatted.');
    if (Math.abs(Date.now() - timestamp) > 15 * 60_000) return error(400, 'InvalidTimeStamp.Expired', 'Specified time stamp or date value is expired.');
    if (usedNonces.has(params.SignatureNonce)) return error(400, 'SignatureNonceUsed', 'Specified signature nonce was used already.');
    usedNonces.add(params.SignatureNonce);
    if (params.Action !== 'SendSms' || params.Version !== '2017-05-25') return error(400, 'InvalidParameter', 'only SendSms 2017-05-25 is simulated');
    state.received.push({ method: request.method, params });

    const script = state.answers.shift();
    const http = await scriptedHttpAnswer(script);
    if (http) return http;
    if (script?.code) return business(script.code, script.message ?? script.code);
    return sendSms(params);
  }

  function sendSms(params: Record<string, string>): Answer {
    const phone = params.PhoneNumbers ?? '';
    if (!/^(\+?86)?1\d{10}$|^(00|\+)?[1-9]\d{6,14}$/.test(phone)) return business('isv.MOBILE_NUMBER_ILLEGAL', '非法手机号');
    if (!state.signNames.has(params.SignName ?? '')) return business('isv.SMS_SIGNATURE_ILLEGAL', '该账号下找不到对应签名');
    const variables = state.templates.get(params.TemplateCode ?? '');
    if (!variables) return business('isv.SMS_TEMPLATE_ILLEGAL', '该账号下找不到对应模板');
    let templateParam: Record<string, string> = {};
    if (params.TemplateParam) {
      try {
        templateParam = JSON.parse(params.TemplateParam) as Record<string, string>;
      } catch {
        return business('isv.INVALID_JSON_PARAM', 'JSON参数不合法，只接受字符串值');
      }
    }
    if (variables.some((name) => !(name in templateParam))) return business('isv.TEMPLATE_MISSING_PARAMETERS', '模板变量缺少对应参数值');
    const bizId = `${Date.now()}^${randomUUID().slice(0, 8)}`;
    state.delivered.push({ phoneNumbers: phone, signName: params.SignName, templateCode: params.TemplateCode, templateParam, outId: params.OutId, bizId });
    return json({ Code: 'OK', Message: 'OK', BizId: bizId, RequestId: randomUUID() });
  }

  const server = await startLocalServer(route);
  return Object.assign(state, server);
}

/**
 * The signature as Aliyun documents computing it: URL-encode names and values the
 * application/x-www-form-urlencoded way, then turn + into %20, * into %2A and %7E back into ~; sort by
 * name; join; StringToSign = METHOD&%2F&encode(query); Base64(HMAC-SHA1(secret + "&", StringToSign)).
 */
export function aliyunSignature(method: string, params: Record<string, string>, accessKeySecret: string): string {
  const encode = (value: string) => new URLSearchParams({ v: value }).toString().slice(2).replaceAll('+', '%20').replaceAll('*', '%2A').replaceAll('%7E', '~');
  const query = Object.entries(params)
    .filter(([name]) => name !== 'Signature')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, value]) => `${encode(name)}=${encode(value)}`)
    .join('&');
  return createHmac('sha1', `${accessKeySecret}&`)
    .update(`${method}&${encode('/')}&${encode(query)}`)
    .digest('base64');
}

function business(code: string, message: string): Answer {
  return json({ Code: code, Message: message, RequestId: randomUUID() });
}

function error(status: number, code: string, message: string): Answer {
  return json({ Code: code, Message: message, RequestId: randomUUID(), HostId: 'dysmsapi.aliyuncs.com' }, status);
}
