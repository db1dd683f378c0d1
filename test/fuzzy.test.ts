import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { jaroWinkler } from '../src/identity/fuzzy.ts';
import { openTestStores, tempDir, uniqueSlug } from './helpers.ts';
import type { Stores } from '../src/stores/stores.ts';
import { WorkspaceService, type Workspace } from '../src/access/workspaces.ts';
import { runImport } from '../src/ingest/importer.ts';
import { resolveIdentities } from '../src/identity/resolve.ts';
import { decideReview, listReviews } from '../src/identity/reviews.ts';
import { getOneIdSettings, saveOneIdSettings } from '../src/identity/settings.ts';

let stores: Stores;
before(async () => {
  ({ stores } = await openTestStores());
});
after(async () => {
  await stores.close();
});

test('Jaro–Winkler scores as published', () => {
  assert.equal(Number(jaroWinkler('martha', 'marhta').toFixed(3)), 0.961);
  assert.equal(Number(jaroWinkler('dwayne', 'duane').toFixed(2)), 0.84);
  assert.equal(jaroWinkler('', 'x'), 0);
  assert.equal(jaroWinkler('李娜', '李娜'), 1);
});

const SURNAMES = ['王', '李', '张', '刘', '陈', '杨', '黄', '赵', '吴', '周'];
const GIVEN = ['丽', '静', '敏', '燕', '娟', '霞', '芳', '婷', '雪', '慧', '伟', '强', '磊', '军', '洋'];
const STREETS = ['人民路', '中山路', '解放路', '建设路', '和平路', '长江路'];

/** 300 people: a JD-style record (full phone) and a Tmall-style record (masked phone, sometimes a typo). */
function people(): { csv: string; truth: Map<string, number> } {
  const rows = ['record_id,source,phone,masked_phone,jd_pin,tmall_nick,name,address'];
  const truth = new Map<string, number>();
  for (let i = 0; i < 300; i++) {
    const phone = `13${String(100000000 + i * 7919).slice(-9)}`;
    const name = SURNAMES[i % 10] + GIVEN[(i * 7) % 15] + GIVEN[(i * 3) % 15];
    const address = `上海市徐汇区${STREETS[i % 6]}${100 + i}号${(i % 30) + 1}栋${(i % 9) + 1}0${(i % 4) + 1}室`;
    const typo = i % 7 === 0 ? name.slice(0, -1) + '莉' : name;
    rows.push(`jd${i},jd,${phone},,jd_${i},,${name},${address}`);
    rows.push(`tm${i},tmall,,${phone.slice(0, 3)}****${phone.slice(-4)},,nick_${i},${typo},${address}`);
    truth.set(`jd${i}`, i);
    truth.set(`tm${i}`, i);
  }
  return { csv: rows.join('\n'), truth };
}

async function persons(ws: Workspace): Promise<Map<string, string>> {
  const rows = await stores.facts.query<{ record_id: string; person_id: string }>(`SELECT record_id, person_id FROM source_records FINAL WHERE workspace_id = {ws:String}`, {
    ws: ws.id,
  });
  return new Map(rows.map((r) => [r.record_id, r.person_id]));
}

test('a masked-phone record joins the full-phone record of the same person by name, phone pattern and address', async () => {
  const ws = await new WorkspaceService(stores.state).create({ slug: uniqueSlug('fz'), name: 'fuzzy' });
  const { csv } = people();
  const file = path.join(tempDir(), 'people.csv');
  fs.writeFileSync(file, csv);
  const summary = await runImport(stores, { workspace: ws, kind: 'records', files: [file] });
  assert.ok(summary.resolution!.fuzzyLinks >= 280, `${summary.resolution!.fuzzyLinks} probabilistic links`);
  const byRecord = await persons(ws);
  let joined = 0;
  for (let i = 0; i < 300; i++) if (byRecord.get(`jd${i}`) === byRecord.get(`tm${i}`)) joined++;
  assert.ok(joined >= 280, `${joined} of 300 joined`);
  assert.ok(new Set(byRecord.values()).size >= 300, 'no two different people were merged');

  // Without probabilistic matching nobody joins: a masked phone is no identifier.
  await resolveIdentities(stores, { workspaceId: ws.id, full: true, fuzzy: false });
  const apart = await persons(ws);
  assert.equal(new Set(apart.values()).size, 600);

  // The workspace's settings decide when a run does not say: off, then on with a review band only.
  assert.deepEqual(await getOneIdSettings(stores, ws.id), { fuzzy: true, autoMerge: true, mergeAt: 0.99, reviewAt: 0.8, maxBlock: 40 });
  await saveOneIdSettings(stores, ws.id, { fuzzy: false });
  const off = await resolveIdentities(stores, { workspaceId: ws.id, full: true });
  assert.deepEqual([off.fuzzyLinks, off.reviews], [0, 0]);
  await saveOneIdSettings(stores, ws.id, { fuzzy: true, autoMerge: false, reviewAt: 0.5 });
  const review = await resolveIdentities(stores, { workspaceId: ws.id, full: true });
  assert.equal(review.fuzzyLinks, 0);
  assert.ok(review.reviews >= 280, `${review.reviews} queued for review`);
  await assert.rejects(saveOneIdSettings(stores, ws.id, { reviewAt: 0.995, mergeAt: 0.99 }), /must be at most mergeAt/);
});

test('borderline pairs wait in the review queue; accept links them, reject keeps them apart for good', async () => {
  const ws = await new WorkspaceService(stores.state).create({ slug: uniqueSlug('rv'), name: 'review' });
  const { csv } = people();
  const file = path.join(tempDir(), 'people.csv');
  fs.writeFileSync(file, csv);
  await runImport(stores, { workspace: ws, kind: 'records', files: [file], resolve: false });
  // Nothing merges on its own: everything above 0.5 goes to review.
  const run = await resolveIdentities(stores, { workspaceId: ws.id, full: true, fuzzy: { mergeAt: 1.01, reviewAt: 0.5 } });
  assert.equal(run.fuzzyLinks, 0);
  assert.ok(run.reviews >= 280);
  const pending = await listReviews(stores, ws.id, 'pending', 1000);
  const accept = pending.find((r) => r.record_a.endsWith(':jd5') || r.record_b.endsWith(':jd5'))!;
  const reject = pending.find((r) => r.record_a.endsWith(':jd6') || r.record_b.endsWith(':jd6'))!;
  await decideReview(stores, ws.id, Number(accept.id), 'accepted', 'test');
  await decideReview(stores, ws.id, Number(reject.id), 'rejected', 'test');
  let byRecord = await persons(ws);
  assert.equal(byRecord.get('jd5'), byRecord.get('tm5'), 'accepted: one person');
  assert.notEqual(byRecord.get('jd6'), byRecord.get('tm6'));
  // A later run with probabilistic matching on merges the rest, but never the rejected pair.
  await resolveIdentities(stores, { workspaceId: ws.id, full: true });
  byRecord = await persons(ws);
  assert.equal(byRecord.get('jd5'), byRecord.get('tm5'));
  assert.notEqual(byRecord.get('jd6'), byRecord.get('tm6'), 'rejected: apart for good');
  assert.equal(byRecord.get('jd7'), byRecord.get('tm7'));
  await assert.rejects(decideReview(stores, ws.id, Number(accept.id), 'rejected', 'test'), /accepted already/);
});
