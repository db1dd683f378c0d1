import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normalise, normaliseEmail, normaliseMaskedPhone, normalisePhone, NormaliseError, DEFAULT_IDENTIFIER_TYPES } from './identifier-types.ts';

test('phones normalise to +86 E.164 whatever their punctuation and prefix', () => {
  for (const raw of ['13812345678', '138 1234 5678', '138-1234-5678', '+86 138 1234 5678', '+8613812345678', '008613812345678', '8613812345678', '(138)1234-5678']) {
    assert.equal(normalisePhone(raw), '+8613812345678', raw);
  }
});

test('masked and malformed phones are refused with a reason', () => {
  assert.throws(() => normalisePhone('138****5678'), /masked phone is not an identifier/);
  assert.throws(() => normalisePhone('1381234567'), /11 digits/);
  assert.throws(() => normalisePhone('02112345678'), /11 digits/);
  assert.throws(() => normalisePhone('abc'), NormaliseError);
});

test('masked phones become fuzzy evidence in one canonical form', () => {
  assert.equal(normaliseMaskedPhone('138****5678'), '138****5678');
  assert.equal(normaliseMaskedPhone('+86 138***5678'), '138****5678');
  assert.equal(normaliseMaskedPhone('13812345678'), undefined);
});

test('emails are trimmed and lower-cased; other ids trimmed', () => {
  assert.equal(normaliseEmail('  Li.Na@Example.COM '), 'li.na@example.com');
  assert.throws(() => normaliseEmail('li.na@'), /email address/);
  assert.equal(normalise({ normaliser: 'trim' }, '  oU123 '), 'oU123');
  assert.throws(() => normalise({ normaliser: 'trim' }, '   '), /empty/);
});

test('default identifier types cover the platforms and nest OpenIDs under UnionIDs', () => {
  const names = DEFAULT_IDENTIFIER_TYPES.map((t) => t.name);
  for (const name of ['phone', 'email', 'unionid', 'openid', 'tmall_nick', 'jd_pin', 'douyin_openid', 'wecom_external_userid', 'member_no']) {
    assert.ok(names.includes(name), name);
  }
  assert.equal(DEFAULT_IDENTIFIER_TYPES.find((t) => t.name === 'openid')?.parent, 'unionid');
  assert.equal(DEFAULT_IDENTIFIER_TYPES.find((t) => t.name === 'unionid')?.singleValued, true);
});
