/**
 * Identifier types: how each kind of id behaves in OneID. Declared per workspace; these are the
 * defaults a new workspace starts with.
 */

// The type's shape is the API's contract; re-exported for the domain's callers.
import type { IdentifierType } from '../contract/identity.ts';
export { identifierTypeSchema, type IdentifierType } from '../contract/identity.ts';

export const DEFAULT_IDENTIFIER_TYPES: IdentifierType[] = [
  { name: 'unionid', label: 'WeChat UnionID', priority: 100, singleValued: true, maxPeoplePerValue: 1, normaliser: 'trim', strong: true },
  { name: 'openid', label: 'WeChat OpenID (per app)', priority: 95, singleValued: false, maxPeoplePerValue: 1, parent: 'unionid', normaliser: 'trim', strong: true },
  {
    name: 'wecom_external_userid',
    label: 'WeCom external contact id',
    priority: 90,
    singleValued: false,
    maxPeoplePerValue: 1,
    parent: 'unionid',
    normaliser: 'trim',
    strong: true,
  },
  { name: 'member_no', label: 'Member card number', priority: 85, singleValued: true, maxPeoplePerValue: 1, normaliser: 'trim', strong: true },
  { name: 'phone', label: 'Mobile phone', priority: 80, singleValued: false, maxPeoplePerValue: 3, normaliser: 'phone_cn', strong: true },
  { name: 'email', label: 'Email', priority: 70, singleValued: false, maxPeoplePerValue: 3, normaliser: 'email', strong: true },
  { name: 'jd_pin', label: 'JD account (pin)', priority: 60, singleValued: false, maxPeoplePerValue: 1, normaliser: 'trim', strong: true },
  { name: 'tmall_nick', label: 'Tmall/Taobao buyer nick', priority: 60, singleValued: false, maxPeoplePerValue: 1, normaliser: 'trim', strong: true },
  { name: 'douyin_openid', label: 'Douyin user id', priority: 60, singleValued: false, maxPeoplePerValue: 1, normaliser: 'trim', strong: true },
  { name: 'user_id', label: 'Brand login id (tracking userId)', priority: 75, singleValued: true, maxPeoplePerValue: 1, normaliser: 'trim', strong: true },
  { name: 'device_id', label: 'Device / anonymous id', priority: 10, singleValued: false, maxPeoplePerValue: 2, normaliser: 'trim', strong: true },
];

/** Masked phones (138****5678) are evidence for fuzzy matching, never a phone identifier. */
export const MASKED_PHONE = /^(?:\+?86)?1\d{2}\*{3,5}\d{4}$/;

export class NormaliseError extends Error {
  override name = 'NormaliseError';
}

/** Chinese mobile numbers to E.164 (+861XXXXXXXXXX); spaces, dashes, brackets, +86 and 0086 handled. */
export function normalisePhone(raw: string): string {
  const compact = raw.replace(/[\s\-().\u3000]/g, '');
  if (MASKED_PHONE.test(compact) || compact.includes('*')) throw new NormaliseError('a masked phone is not an identifier');
  let digits = compact;
  if (digits.startsWith('+86')) digits = digits.slice(3);
  else if (digits.startsWith('0086')) digits = digits.slice(4);
  else if (digits.startsWith('86') && digits.length === 13) digits = digits.slice(2);
  if (!/^1[3-9]\d{9}$/.test(digits)) throw new NormaliseError('expected a mainland mobile number: 11 digits starting with 13–19');
  return `+86${digits}`;
}

export function normaliseEmail(raw: string): string {
  const value = raw.trim().toLowerCase();
  if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(value)) throw new NormaliseError('expected an email address like name@example.com');
  return value;
}

export function normalise(type: Pick<IdentifierType, 'normaliser'>, raw: string): string {
  switch (type.normaliser) {
    case 'phone_cn':
      return normalisePhone(raw);
    case 'email':
      return normaliseEmail(raw);
    case 'lower':
      return raw.trim().toLowerCase();
    default: {
      const value = raw.trim();
      if (!value) throw new NormaliseError('empty');
      return value;
    }
  }
}

/** "138****5678" → "138****5678" in a canonical form (digits and four stars), for fuzzy evidence. */
export function normaliseMaskedPhone(raw: string): string | undefined {
  const compact = raw.replace(/[\s-]/g, '').replace(/^\+?86/, '');
  const match = /^(1\d{2})\*{3,5}(\d{4})$/.exec(compact);
  return match ? `${match[1]}****${match[2]}` : undefined;
}
