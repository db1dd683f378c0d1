/**
 * The one member profile over real facts: member records only, and with several, each field's
 * latest non-empty value on its own.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { openTestStores } from '../../test/helpers.ts';
import type { Stores } from '../stores/stores.ts';
import { memberProfile, PROFILE } from './member-profile.ts';
import { nextVersion } from './version-clock.ts';

let stores: Stores;
const ws = `ws_profile_${process.pid}`;

before(async () => {
  ({ stores } = await openTestStores());
  const record = (source: string, kind: string, id: string, seenAt: string, birthday: string, attributes: Record<string, string>) => ({
    workspace_id: ws,
    source,
    kind,
    record_id: id,
    person_id: 7,
    identifiers: [],
    birthday,
    attributes,
    seen_at: seenAt,
    row_hash: 0,
    version: nextVersion(),
  });
  await stores.facts.insertRows('source_records', [
    // Two member cards: the newer one has a level but no city or birthday.
    record('crm', 'member', 'M1', '2020-01-01 00:00:00.000', '1990-03-04', { city: '杭州市', level: '银卡', points: '120' }),
    record('shop', 'member', 'M2', '2024-01-01 00:00:00.000', '', { level: '金卡', points: 'n/a' }),
    // The newest record of all is an order with a birthday typed at checkout.
    record('shop', 'order', 'O1', '2026-01-01 00:00:00.000', '1985-12-25', {}),
  ]);
});
after(async () => {
  await stores.close();
});

test('each field is the latest non-empty value over member records, typed or as recorded', async () => {
  const [typed] = await stores.facts.query<Record<string, unknown>>(`SELECT * FROM ${PROFILE}`, { ws });
  assert.equal(typed.pf_birthday, '1990-03-04', 'not the order');
  assert.equal(typed.pf_city, '杭州市', 'an empty value on the newer card does not win');
  assert.equal(typed.pf_level, '金卡', 'the newer card');
  assert.equal(typed.pf_points, null, 'the newer card’s points are not a number');
  const [text] = await stores.facts.query<Record<string, string>>(
    `SELECT * FROM ${memberProfile({ fields: ['points', 'city'], values: 'text', peopleParam: 'people', sourcesParam: 'sources' })}`,
    {
      ws,
      people: [7],
      sources: ['crm'],
    },
  );
  assert.deepEqual({ ...text, person_id: Number(text.person_id) }, { person_id: 7, pf_points: '120', pf_city: '杭州市' });
});

test('a field that is not a profile field is refused before it becomes SQL', () => {
  assert.throws(() => memberProfile({ fields: ["city'] FROM x --"] }), /is not a profile field/);
});
