/** A segment's profile conditions are checked against the API's list of profile fields and their types. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { segmentSchema } from '../contract/segments.ts';

test('a profile condition on a number field refuses text that is no number, naming the value', () => {
  const parsed = segmentSchema.safeParse({ key: 'vip', name: { zh: '会员', en: 'VIP' }, conditions: [{ type: 'profile', field: 'points', op: 'gt', value: 'many' }] });
  assert.equal(parsed.success, false);
  assert.match(parsed.error!.issues[0].message, /points is a number: "many" is not one/);
  assert.deepEqual(parsed.error!.issues[0].path, ['conditions', 0, 'value']);
});
