/**
 * Personal data as a role may see it: admins and operators see identifiers and names as they are;
 * everyone else sees them masked (a phone keeps its first three and last four digits, as platforms
 * print them).
 */
import type { Role } from '../workspaces/workspaces.ts';

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

export function maskAddress(address: string): string {
  return address ? `${[...address].slice(0, 6).join('')}****` : address;
}

/** A birthday keeps its year. */
export function maskBirthday(birthday: string): string {
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
  if (column.includes('phone') || column.includes('mobile')) return maskIdentifier('phone', value);
  if (column.includes('address')) return maskAddress(value);
  if (column.includes('birth')) return maskBirthday(value);
  if (column.includes('name') && !column.includes('product')) return maskName(value);
  return maskIdentifier(column, value);
}

const PERSONAL_KEY = /phone|mobile|tel|name|address|email|birth|id_?card|unionid|openid|userid|user_id|nick|pin|member/i;

/**
 * Event properties as a role without personal data sees them: values under personal-looking keys
 * masked, and every text value of an identify call (its traits describe the person).
 */
export function maskProperties(value: unknown, everything = false, key = ''): unknown {
  if (Array.isArray(value)) return value.map((v) => maskProperties(v, everything, key));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, maskProperties(v, everything || PERSONAL_KEY.test(k), k)]));
  }
  if (!everything || value === null || value === undefined || typeof value === 'boolean') return value;
  return maskField(key, String(value));
}
