/**
 * A segment's profile conditions are checked by the API's list of profile fields (src/contract, which
 * the console bundles and which may import nothing but zod), and read by the facts store's member
 * profile: the two lists must name the same fields with the same types.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PROFILE_FIELD_TYPES } from '../contract/profile.ts';
import { segmentSchema } from '../contract/segments.ts';
import { PROFILE_FIELDS } from '../facts/member-profile.ts';

test('the API takes the profile fields the member profile reads, with the same types', () => {
  assert.deepEqual(PROFILE_FIELD_TYPES, PROFILE_FIELDS);
});

test('a profile condition on a number field refuses text that is no number, naming the value', () => {
  const parsed = segmentSchema.safeParse({ key: 'vip', name: { zh: '会员', en: 'VIP' }, conditions: [{ type: 'profile', field: 'points', op: 'gt', value: 'many' }] });
  assert.equal(parsed.success, false);
  assert.match(parsed.error!.issues[0].message, /points is a number: "many" is not one/);
  assert.deepEqual(parsed.error!.issues[0].path, ['conditions', 0, 'value']);
});
