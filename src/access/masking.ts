/**
 * Personal data as a role may see it: admins and operators see identifiers and names as they are;
 * everyone else sees them masked (a phone keeps its first three and last four digits, as platforms
 * print them).
 */
import type { Role } from './keys.ts';

export function seesPersonalData(role: Role): boolean {
  return role === 'admin' || role === 'operator';
}

export function maskIdentifier(type: string, value: string): string {
  if (type === 'phone') {
    const digits = value.replace(/^\+86/, '');
    // Too short to keep seven digits of it and hide any.
    if (digits.length < 8) return '***';
    return `${value.startsWith('+86') ? '+86' : ''}${digits.slice(0, 3)}****${digits.slice(-4)}`;
  }
  if (type === 'email') {
    const [user, domain] = value.split('@');
    return `${user.slice(0, 1)}***@${domain ?? ''}`;
  }
  return value.length > 6 ? `${value.slice(0, 2)}***${value.slice(-2)}` : '***';
}

export function maskName(name: string): string {
  return name ? `${[...name][0]}${'*'.repeat(Math.max(1, [...name].length - 1))}` : '';
}

function maskAddress(address: string): string {
  return address ? `${[...address].slice(0, 6).join('')}****` : address;
}

/** A birthday keeps its year. */
function maskBirthday(birthday: string): string {
  return /^\d{4}/.test(birthday) ? `${birthday.slice(0, 4)}-**-**` : birthday ? '***' : birthday;
}

/** Record kinds whose id is an identifier of the person (a member number, a WeCom external userid). */
const IDENTIFYING_RECORD_KINDS = new Set(['member', 'contact', 'identity', 'record']);

export function maskRecordId(kind: string, recordId: string): string {
  return IDENTIFYING_RECORD_KINDS.has(kind) ? maskIdentifier('id', recordId) : recordId;
}

/** A record key `source:kind:record_id` with the id masked when it identifies the person. */
export function maskRecordKey(key: string): string {
  const [source, kind, ...rest] = key.split(':');
  return rest.length === 0 ? key : `${source}:${kind}:${maskRecordId(kind, rest.join(':'))}`;
}

/** Import columns that say nothing about who someone is; every other column's values are masked. */
const IMPERSONAL_FIELDS = new Set(
  (
    'order_id ordered_at paid_at amount status discount postage refunded currency store_id store_name line_no sku product_name category quantity ' +
    'unit_price line_amount package_periods period periods planned_at shipped_at refund_id requested_at completed_at reason registered_at level points ' +
    'gender city channel added_at brand price timestamp type event messageid'
  ).split(' '),
);

/** A refused import value as a role without personal data sees it. */
export function maskField(field: string, value: string): string {
  const column = field.toLowerCase().replace(/^(identities|properties|traits|context)\./, '');
  if (IMPERSONAL_FIELDS.has(column) || !value) return value;
  if (/phone|mobile|手机|电话/.test(column)) return maskIdentifier('phone', value);
  if (/address|地址/.test(column)) return maskAddress(value);
  if (/birth|生日|出生/.test(column)) return maskBirthday(value);
  if ((column.includes('name') && !column.includes('product')) || /姓名|名字|收货人|收件人|联系人|昵称/.test(column)) return maskName(value);
  return maskIdentifier(column, value);
}

/**
 * Keys whose values describe who someone is, in English and Chinese (手机号, 收货人, 身份证 …) and
 * their usual variants. Values under other keys are still masked by what they look like (maskText).
 */
const PERSONAL_KEY =
  /phone|mobile|tel|name|address|addr|email|e_?mail|birth|id_?card|id_?no|passport|unionid|openid|userid|user_id|nick|pin|member|wechat|weixin|wx_?id|qq|contact|receiver|recipient|consignee|手机|电话|联系|姓名|名字|收货人|收件人|地址|身份证|证件|邮箱|微信|昵称|生日|出生|会员号|账号/i;

/** Whether a property, column or tag key names personal data. */
export const personalKey = (key: string) => PERSONAL_KEY.test(key);

const EMAIL_TEXT = /[\p{L}\p{N}._%+-]+@[\p{L}\p{N}-]+(?:\.[\p{L}\p{N}-]+)*\.\p{L}{2,}/gu;
/** An 18-character resident ID (17 digits and a digit or X). */
const ID_CARD_TEXT = /(?<![\dA-Za-z])\d{6}(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx](?![\dA-Za-z])/g;
/** A mainland mobile, with +86 / 0086 / 86 in front and spaces or dashes anywhere between digits. */
const MOBILE_TEXT = /(?<!\d)(?:(?:\+|00)\s*86[\s-]*|86[\s-]+)?1[3-9](?:[\s-]?\d){9}(?![\d])/g;
/**
 * Seven digits or more: in one run, or in groups of 3 or more joined by a space or a dash (a card
 * number, a landline), but not a date or a time (2026-06-18 has groups of 2).
 */
const DIGIT_RUN_TEXT = /(?<!\d)(?:\d{7,}|\d{3,}(?:[ -]\d{3,})+)(?!\d)/g;

/** Digits of a match kept at its ends, the rest starred (separators dropped). */
function starDigits(match: string, head: number, tail: number): string {
  const digits = match.replace(/\D/g, '');
  if (digits.length < 7) return match;
  return `${digits.slice(0, head)}${'*'.repeat(Math.max(1, digits.length - head - tail))}${digits.slice(digits.length - tail)}`;
}

/**
 * Free text as a role without personal data sees it: whatever in it looks like a mainland mobile,
 * an email, a resident ID number or a long run of digits is masked where it stands (the words
 * around it are kept). Names in free text cannot be told by their shape: they are masked by key.
 */
export function maskText(text: string): string {
  return text
    .replace(EMAIL_TEXT, (m) => maskIdentifier('email', m))
    .replace(ID_CARD_TEXT, (m) => `${m.slice(0, 3)}${'*'.repeat(m.length - 5)}${m.slice(-2)}`)
    .replace(MOBILE_TEXT, (m) => {
      const plus = /^\s*(?:\+|00)/.test(m) || /^86[\s-]/.test(m) ? '+86' : '';
      const digits = m.replace(/\D/g, '').slice(-11);
      return `${plus}${digits.slice(0, 3)}****${digits.slice(-4)}`;
    })
    .replace(DIGIT_RUN_TEXT, (m) => starDigits(m, 2, 2));
}

/** Whether text holds something maskText would hide (a mobile, an email, an ID number, a long digit run). */
export function looksPersonal(value: unknown): boolean {
  if (typeof value === 'number') return looksPersonal(String(Math.trunc(Math.abs(value))));
  return typeof value === 'string' && maskText(value) !== value;
}

/** A tag value as a role without personal data sees it: by the tag's key, and by what the value looks like. */
export function maskTagValue(key: string, value: unknown): unknown {
  if (Array.isArray(value)) return value.map((v) => maskTagValue(key, v));
  if (typeof value !== 'string' || !value) return value;
  return personalKey(key) ? maskField(key, value) : maskText(value);
}

/**
 * Event properties as a role without personal data sees them: values under personal-looking keys
 * masked, every text value of an identify call (its traits describe the person), and anything else
 * that looks like personal data masked within its text (maskText).
 */
export function maskProperties(value: unknown, everything = false, key = ''): unknown {
  if (Array.isArray(value)) return value.map((v) => maskProperties(v, everything, key));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, maskProperties(v, everything || PERSONAL_KEY.test(k), k)]));
  }
  if (value === null || value === undefined || typeof value === 'boolean') return value;
  if (everything) return maskField(key, String(value));
  // Under any other key, by what the value looks like (free text holding a phone, a long number).
  if (typeof value === 'string') return maskText(value);
  if (typeof value === 'number' && looksPersonal(value)) return maskText(String(value));
  return value;
}
