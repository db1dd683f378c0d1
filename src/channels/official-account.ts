/**
 * Official-account template messages (模板消息): `POST /cgi-bin/message/template/send?access_token=` with
 * `{ touser, template_id, url, miniprogram: { appid, pagepath }, data, client_msg_id }`. client_msg_id
 * is the delivery id: the platform sends one message per openid + client_msg_id (防重入, "10 minutes,
 * beyond that not guaranteed"), so a retry after a lost reply does not reach the person twice.
 * Acceptance is not delivery: the platform reports that later in a TEMPLATESENDJOBFINISH event.
 *
 * Address: the person's openid under this official account.
 * Content: `template_id`, `data` (`{ key: text | { value } }` or flattened `data.key`), optional `url`
 * and `miniprogram` (`{ appid, pagepath }` or `miniprogram.appid` / `miniprogram.pagepath`).
 */
import { createHash } from 'node:crypto';
import type { ChannelClient, OutboundMessage, SendResult } from './channel.ts';
import { AccessTokenCache, describe, postWithAccessToken, weChatTokenFetcher, type PlatformReply } from './access-token.ts';
import { nestedTextFields, textField, wechatTemplateData } from './content.ts';

export interface OfficialAccountConfig {
  appId: string;
  appSecret: string;
  /** https://api.weixin.qq.com, or a local contract server in tests. */
  baseUrl: string;
  timeoutMs: number;
  /** A token cache shared with other clients of the same account; one is made otherwise. */
  tokens?: AccessTokenCache;
}

export class OfficialAccountTemplateClient implements ChannelClient {
  readonly kind = 'official_account';
  readonly #config: OfficialAccountConfig;
  readonly #tokens: AccessTokenCache;

  constructor(config: OfficialAccountConfig) {
    this.#config = config;
    this.#tokens = config.tokens ?? new AccessTokenCache({ fetchToken: weChatTokenFetcher(config) });
  }

  async send(message: OutboundMessage): Promise<SendResult> {
    if (!message.address) return { outcome: 'failed', reason: 'no openid for this person' };
    const templateId = textField(message.content, 'template_id');
    if (!templateId) return { outcome: 'failed', reason: 'content.template_id is missing' };
    const miniprogram = nestedTextFields(message.content, 'miniprogram');
    const payload = {
      touser: message.address,
      template_id: templateId,
      url: textField(message.content, 'url'),
      miniprogram: miniprogram.appid ? { appid: miniprogram.appid, pagepath: miniprogram.pagepath } : undefined,
      data: wechatTemplateData(nestedTextFields(message.content, 'data')),
      client_msg_id: clientMsgId(message.deliveryId),
    };
    const call = await postWithAccessToken({ tokens: this.#tokens, baseUrl: this.#config.baseUrl, timeoutMs: this.#config.timeoutMs }, '/cgi-bin/message/template/send', payload);
    return call.ok ? outcomeOfTemplateReply(call.reply) : call.result;
  }
}

/**
 * The delivery id itself when it is short enough; a digest of it otherwise (WeChat's message ids are
 * capped at 64 bytes: clientmsgid of the mass-send API answers 45067 past that).
 */
export function clientMsgId(deliveryId: string): string {
  return Buffer.byteLength(deliveryId) <= 64 ? deliveryId : createHash('sha256').update(deliveryId).digest('hex');
}

/**
 * Errcodes per the official-account 全局返回码 (developers.weixin.qq.com/doc/offiaccount/Getting_Started/
 * Global_Return_Code.html) as the template message page (Message_Management/Template_Message_Interface.html)
 * points to them. 43101 is not on that page: it is what a user who blocked this template gets
 * (observed on the developer community since 2023; it is per template, like the mini-program's).
 */
function outcomeOfTemplateReply(reply: PlatformReply): SendResult {
  const reason = describe(reply);
  switch (reply.errcode) {
    case 0: {
      const msgid = reply.body.msgid;
      return { outcome: 'sent', providerId: msgid === undefined ? undefined : String(msgid), delivered: false };
    }
    case 43101: // the user turned this template off
      return { outcome: 'parked', reason };
    case -1: // system busy
    case 45009: // daily quota of the API reached
      return { outcome: 'retry', reason };
    case 43004: // require subscribe: the user does not follow the account
    case 40003: // invalid openid
    case 40036: // invalid template_id size
    case 40037: // invalid template_id
    case 47003: // data does not fit the template
    default:
      return { outcome: 'failed', reason };
  }
}
