/**
 * Mini-program subscribe messages (订阅消息): `POST /cgi-bin/message/subscribe/send?access_token=` with
 * `{ touser, template_id, page, data, miniprogram_state, lang }`. A user consents per template and each
 * consent allows one message, so "no quota left" is not an error to retry: the person is parked for
 * this template until they subscribe again.
 *
 * Address: the person's openid under this mini-program.
 * Content: `template_id`, `data` (`{ key: text | { value } }` or flattened `data.key`), optional `page`,
 * `miniprogram_state` (developer | trial | formal) and `lang`.
 */
import type { ChannelClient, OutboundMessage, SendResult } from './channel.ts';
import { AccessTokenCache, describe, postWithAccessToken, weChatTokenFetcher, type PlatformReply } from './access-token.ts';
import { nestedTextFields, textField, wechatTemplateData } from './content.ts';

export interface MiniProgramConfig {
  appId: string;
  appSecret: string;
  /** https://api.weixin.qq.com, or a local contract server in tests. */
  baseUrl: string;
  timeoutMs: number;
  /** Used when the content names none: formal (正式版) by default. */
  miniprogramState?: 'developer' | 'trial' | 'formal';
  lang?: 'zh_CN' | 'en_US' | 'zh_HK' | 'zh_TW';
  /** A token cache shared with other clients of the same app; one is made otherwise. */
  tokens?: AccessTokenCache;
}

export class MiniProgramSubscribeClient implements ChannelClient {
  readonly kind = 'miniprogram';
  readonly #config: MiniProgramConfig;
  readonly #tokens: AccessTokenCache;

  constructor(config: MiniProgramConfig) {
    this.#config = config;
    this.#tokens = config.tokens ?? new AccessTokenCache({ fetchToken: weChatTokenFetcher(config) });
  }

  async send(message: OutboundMessage): Promise<SendResult> {
    if (!message.address) return { outcome: 'failed', reason: 'no openid for this person' };
    const templateId = textField(message.content, 'template_id');
    if (!templateId) return { outcome: 'failed', reason: 'content.template_id is missing' };
    const payload = {
      touser: message.address,
      template_id: templateId,
      page: textField(message.content, 'page'),
      data: wechatTemplateData(nestedTextFields(message.content, 'data')),
      miniprogram_state: textField(message.content, 'miniprogram_state') ?? this.#config.miniprogramState ?? 'formal',
      lang: textField(message.content, 'lang') ?? this.#config.lang ?? 'zh_CN',
    };
    const call = await postWithAccessToken({ tokens: this.#tokens, baseUrl: this.#config.baseUrl, timeoutMs: this.#config.timeoutMs }, '/cgi-bin/message/subscribe/send', payload);
    return call.ok ? outcomeOfSubscribeReply(call.reply) : call.result;
  }
}

/**
 * Errcodes per the sendMessage (subscribeMessage.send) page, developers.weixin.qq.com/miniprogram/dev/
 * OpenApiDoc/mp-message-management/subscribe-message/sendMessage.html, plus the global codes -1 (系统繁忙)
 * and 45009 (接口调用超过限额, API_Call_Limits).
 */
function outcomeOfSubscribeReply(reply: PlatformReply): SendResult {
  const reason = describe(reply);
  switch (reply.errcode) {
    case 0:
      return { outcome: 'sent' };
    case 43101: // 用户拒绝接受消息: no consent left for this template (or the user unsubscribed)
      return { outcome: 'parked', reason };
    case -1: // system busy
    case 45009: // frequency / daily quota limit
      return { outcome: 'retry', reason };
    case 40003: // touser is not a valid openid of this app
    case 40037: // template_id is wrong
    case 41030: // page is not a page of the released mini-program
    case 47003: // template data does not fit the template's fields (errmsg names the field)
    default:
      return { outcome: 'failed', reason };
  }
}
