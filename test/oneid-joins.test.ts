/**
 * OneID moves millions of records with sort-merge joins and a few with hash joins: both ways give
 * the same people, identities and records.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { openTestStores, uniqueSlug } from './helpers.ts';
import type { Stores } from '../src/stores/stores.ts';
import { WorkspaceService } from '../src/access/workspaces.ts';
import { resolveIdentities } from '../src/identity/resolve.ts';

let stores: Stores;
before(async () => {
  ({ stores } = await openTestStores());
});
after(async () => {
  await stores.close();
});

async function records(ws: string, from: number, count: number, version: number) {
  // Person p: a mini-program record (unionid, phone) and a JD record (jd_pin, phone); every 7th JD
  // record carries the phone of the person before (it joins that person).
  await stores.facts.command(
    `INSERT INTO source_records (workspace_id, source, kind, record_id, person_id, identifiers, seen_at, row_hash, version)
     SELECT {ws:String}, if(r = 0, 'miniprogram', 'jd'), 'order', concat(if(r = 0, 'm', 'j'), toString(p)), 0,
            if(r = 0, [('unionid', concat('oU', toString(p))), ('phone', concat('+86', toString(13000000000 + p)))],
                      [('jd_pin', concat('jd_', toString(p))), ('phone', concat('+86', toString(13000000000 + if(p % 7 = 1, p - 1, p))))]),
            now64(3), p * 2 + r, {v:UInt64}
     FROM (SELECT number + {from:UInt64} AS p FROM numbers({count:UInt64})) ARRAY JOIN [0, 1] AS r`,
    { ws, from, count, v: version },
  );
}

async function written(ws: string) {
  const q = (sql: string) => stores.facts.query(sql, { ws }).then((rows) => rows.map((r) => JSON.stringify(r)));
  return {
    identities: await q(`SELECT type, value, person_id, records, arraySort(sources) FROM person_identities FINAL WHERE workspace_id = {ws:String} ORDER BY type, value`),
    records: await q(`SELECT source, record_id, person_id FROM source_records FINAL WHERE workspace_id = {ws:String} ORDER BY source, record_id`),
  };
}

test('records moved with sort-merge joins land as with hash joins, in a full run and an incremental one', async () => {
  const service = new WorkspaceService(stores.state);
  const [hashed, sorted] = [await service.create({ slug: uniqueSlug('hash'), name: 'hash' }), await service.create({ slug: uniqueSlug('sort'), name: 'sort' })];
  for (const ws of [hashed, sorted]) await records(ws.id, 1, 3000, 1);
  const a = await resolveIdentities(stores, { workspaceId: hashed.id, full: true });
  const b = await resolveIdentities(stores, { workspaceId: sorted.id, full: true, sortJoinsFrom: 0 });
  assert.equal(b.reassigned, 6000);
  assert.deepEqual([b.records, b.people], [a.records, a.people]);
  // 3000 people, and one more: person 1's JD record carries the phone of a person 0 who has no record of their own.
  assert.equal(a.people, 3001);
  assert.deepEqual(await written(sorted.id), await written(hashed.id));

  // New records that join existing people, and new people.
  for (const ws of [hashed, sorted]) await records(ws.id, 2990, 100, 2);
  const c = await resolveIdentities(stores, { workspaceId: hashed.id });
  const d = await resolveIdentities(stores, { workspaceId: sorted.id, sortJoinsFrom: 0 });
  assert.ok(d.reassigned > 0);
  assert.deepEqual([d.records, d.people, d.reassigned], [c.records, c.people, c.reassigned]);
  const [x, y] = [await written(hashed.id), await written(sorted.id)];
  assert.deepEqual(y, x);
  // 100 more people's records, 11 of whom were sent again.
  assert.equal(x.records.length, 6000 + 200 - 22);
});
