/**
 * A local stand-in for qyapi.weixin.qq.com speaking the contract of the customer contact mass send:
 * gettoken, add_msg_template (a task for the sender to confirm) and get_groupmsg_send_result. A test
 * plays the staff member with `confirm(msgid)`; customers past their mass-message allowance come back
 * with status 3, like the platform. Tokens are checked (unknown → 40014, expired → 42001) and any call
 * can be scripted to answer an errcode, an HTTP status or a delay.
 */
import { randomUUID } from 'node:crypto';
import { json, scriptedHttpAnswer, startLocalServer, type Answer, type IncomingRequest, type LocalServer, type ScriptedHttp } from './local-server.ts';

export interface WeComScripted extends ScriptedHttp {
  errcode?: number;
  errmsg?: string;
}

export interface WeComCall {
  path: string;
  accessToken: string;
  body: Record<string, unknown>;
  at: number;
}

export interface WeComTask {
  msgid: string;
  sender: string;
  body: Record<string, unknown>;
  /** external_userid → 0 not sent, 1 sent, 2 not a friend, 3 allowance used up */
  status: Map<string, { status: 0 | 1 | 2 | 3; sendTime: number }>;
}

export interface WeComServer extends LocalServer {
  readonly corpId: string;
  readonly corpSecret: string;
  readonly received: WeComCall[];
  readonly tasks: Map<string, WeComTask>;
  /** Scripted answers for the next API calls (not token requests), used up in order. */
  readonly answers: WeComScripted[];
  readonly tokenAnswers: WeComScripted[];
  tokenRequests: number;
  tokenExpiresInSeconds: number;
  expireTokens(): void;
  /**
   * Staff userid → their customers (external_userids). Empty: every sender is valid and every
   * customer theirs. Otherwise an unknown sender is 40003 and others' customers go to fail_list.
   */
  readonly customersOf: Map<string, Set<string>>;
  /** Mass messages a customer may receive per calendar month (default: days in this month). */
  monthlyAllowancePerCustomer: number;
  /** The sender confirms the task in WeCom: each customer gets it (1) or is past the allowance (3). */
  confirm(msgid: string): void;
}

const WECOM_ERRMSG: Readonly<Record<number, string>> = {
  [-1]: 'system busy',
  40001: 'invalid secret',
  40003: 'invalid userid',
  40013: 'invalid corpid',
  40014: 'invalid access_token',
  40035: 'invalid parameter',
  40096: 'invalid external userid',
  41063: 'group msg is sending, please try again later',
  42001: 'access_token expired',
  44004: 'empty content',
  45009: 'api freq out of limit',
  45033: 'api concurrent out of limit',
  84061: 'not external contact',
};

export async function startWeComServer(options: { corpId?: string; corpSecret?: string } = {}): Promise<WeComServer> {
  const tokens = new Map<string, { expiresAt: number }>();
  const receivedThisMonth = new Map<string, number>();
  const now = new Date();

  const state = {
    corpId: options.corpId ?? 'ww-test-corp',
    corpSecret: options.corpSecret ?? 'ww-test-secret',
    received: [] as WeComCall[],
    tasks: new Map<string, WeComTask>(),
    answers: [] as WeComScripted[],
    tokenAnswers: [] as WeComScripted[],
    tokenRequests: 0,
    tokenExpiresInSeconds: 7200,
    customersOf: new Map<string, Set<string>>(),
    monthlyAllowancePerCustomer: new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 0)).getUTCDate(),
    expireTokens(): void {
      for (const token of tokens.values()) token.expiresAt = 0;
    },
    confirm(msgid: string): void {
      const task = state.tasks.get(msgid);
      if (!task) throw new Error(`no task ${msgid}`);
      const sendTime = Math.floor(Date.now() / 1000);
      for (const [externalUserId, entry] of task.status) {
        if (entry.status !== 0) continue;
        const received = receivedThisMonth.get(externalUserId) ?? 0;
        if (received >= state.monthlyAllowancePerCustomer) {
          task.status.set(externalUserId, { status: 3, sendTime: 0 });
        } else {
          receivedThisMonth.set(externalUserId, received + 1);
          task.status.set(externalUserId, { status: 1, sendTime });
        }
      }
    },
  };

  async function route(request: IncomingRequest): Promise<Answer> {
    if (request.method === 'GET' && request.path === '/cgi-bin/gettoken') return issueToken(request);
    if (request.method !== 'POST') return errcode(40035);
    const accessToken = request.query.access_token ?? '';
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(request.body) as Record<string, unknown>;
    } catch {
      return errcode(40035, 'Warning: wrong json format.');
    }
    state.received.push({ path: request.path, accessToken, body, at: Date.now() });
    const token = tokens.get(accessToken);
    if (!token) return errcode(40014);
    if (Date.now() >= token.expiresAt) return errcode(42001);
    const scripted = await scriptedAnswer(state.answers.shift());
    if (scripted) return scripted;
    if (request.path === '/cgi-bin/externalcontact/add_msg_template') return addMsgTemplate(body);
    if (request.path === '/cgi-bin/externalcontact/get_groupmsg_send_result') return sendResult(body);
    return { status: 404, body: 'not found' };
  }

  async function issueToken(request: IncomingRequest): Promise<Answer> {
    state.tokenRequests++;
    const scripted = await scriptedAnswer(state.tokenAnswers.shift());
    if (scripted) return scripted;
    if (request.query.corpid !== state.corpId) return errcode(40013);
    if (request.query.corpsecret !== state.corpSecret) return errcode(40001);
    const value = `ww-token-${randomUUID()}`;
    tokens.set(value, { expiresAt: Date.now() + state.tokenExpiresInSeconds * 1000 });
    return json({ errcode: 0, errmsg: 'ok', access_token: value, expires_in: state.tokenExpiresInSeconds });
  }

  function addMsgTemplate(body: Record<string, unknown>): Answer {
    if ((body.chat_type ?? 'single') !== 'single') return errcode(40035, 'only chat_type single is simulated');
    const externalUserIds = Array.isArray(body.external_userid) ? body.external_userid.filter((id): id is string => typeof id === 'string') : [];
    const sender = typeof body.sender === 'string' ? body.sender : '';
    const text = body.text as { content?: unknown } | undefined;
    const attachments = Array.isArray(body.attachments) ? body.attachments : [];
    if (!(typeof text?.content === 'string' && text.content) && attachments.length === 0) return errcode(44004);
    if (attachments.length > 9 || externalUserIds.length === 0 || externalUserIds.length > 10_000) return errcode(40035);
    if (!sender) return errcode(40003);
    let customers: Set<string> | undefined;
    if (state.customersOf.size > 0) {
      customers = state.customersOf.get(sender);
      if (!customers) return errcode(40003);
    }
    const failList = externalUserIds.filter((id) => customers !== undefined && !customers.has(id));
    const msgid = `msg${randomUUID().replaceAll('-', '')}`;
    const status = new Map<string, { status: 0 | 1 | 2 | 3; sendTime: number }>();
    for (const id of externalUserIds) if (!failList.includes(id)) status.set(id, { status: 0, sendTime: 0 });
    state.tasks.set(msgid, { msgid, sender, body, status });
    return json({ errcode: 0, errmsg: 'ok', fail_list: failList, msgid });
  }

  function sendResult(body: Record<string, unknown>): Answer {
    const task = typeof body.msgid === 'string' ? state.tasks.get(body.msgid) : undefined;
    if (!task) return errcode(40035, 'invalid msgid');
    const rows = body.userid === task.sender ? [...task.status] : [];
    const limit = typeof body.limit === 'number' && body.limit > 0 && body.limit <= 1000 ? body.limit : 500;
    const start = typeof body.cursor === 'string' && body.cursor ? Number(body.cursor) : 0;
    const page = rows.slice(start, start + limit);
    const next = start + limit < rows.length ? String(start + limit) : '';
    return json({
      errcode: 0,
      errmsg: 'ok',
      next_cursor: next,
      send_list: page.map(([externalUserId, entry]) => ({
        external_userid: externalUserId,
        userid: task.sender,
        status: entry.status,
        ...(entry.status === 1 ? { send_time: entry.sendTime } : {}),
      })),
    });
  }

  const server = await startLocalServer(route);
  return Object.assign(state, server);
}

async function scriptedAnswer(script: WeComScripted | undefined): Promise<Answer | undefined> {
  const http = await scriptedHttpAnswer(script);
  if (http) return http;
  if (script?.errcode !== undefined) return errcode(script.errcode, script.errmsg);
  return undefined;
}

function errcode(code: number, errmsg = WECOM_ERRMSG[code] ?? 'error'): Answer {
  return json({ errcode: code, errmsg: `${errmsg}, hint: [${Date.now()}], more info at https://open.work.weixin.qq.com/devtool/query?e=${code}` });
}
