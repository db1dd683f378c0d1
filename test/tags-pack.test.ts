/**
 * The ready pack on the demo brand, from the command line: install, one run, coverage, a person's
 * tags. Every tag of the pack completes with values, and every person gets each tag that applies to
 * them (a buyer every purchase tag; everyone the tags about everyone).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { openTestStores, runCli, tempDir, uniqueSlug } from './helpers.ts';
import { WorkspaceService } from '../src/access/workspaces.ts';
import { generateDemoBrand } from '../src/demo/demo-brand.ts';
import { loadDemoBrand } from '../src/demo/load.ts';
import { RETAIL_PACK } from '../src/tags/packs/retail.ts';

test('siyu tags install-pack retail && siyu tags run on the demo brand: every tag of the pack, for every person it applies to', async () => {
  const dataDir = tempDir();
  const slug = uniqueSlug('pack');
  const demo = path.join(tempDir(), 'demo');
  await generateDemoBrand({ people: 400, seed: 5, endDate: '2026-10-31', out: demo, threads: 0 });
  let workspaceId: string;
  {
    const { stores } = await openTestStores(dataDir);
    try {
      const workspace = await new WorkspaceService(stores.state).create({ slug, name: '燕语' });
      workspaceId = workspace.id;
      await loadDemoBrand(stores, workspace, demo);
    } finally {
      await stores.close();
    }
  }
  const env = { SIYU_DATA_DIR: dataDir, SIYU_DEMO_PEOPLE: '0' };
  const installed = await runCli(['tags', 'install-pack', 'retail', '-w', slug], env);
  assert.equal(installed.code, 0, installed.stderr);
  assert.match(installed.stdout, new RegExp(`pack retail: ${RETAIL_PACK.length} tags installed, 0 replaced, 0 kept`));
  assert.ok(RETAIL_PACK.length >= 60);
  const again = await runCli(['tags', 'install-pack', 'retail', '-w', slug], env);
  assert.match(again.stdout, new RegExp(`0 tags installed, 0 replaced, ${RETAIL_PACK.length} kept`), 'installing twice changes nothing');

  const run = await runCli(['tags', 'run', '--date', '2026-10-31', '-w', slug], env);
  assert.equal(run.code, 0, run.stderr + run.stdout);

  let person = '';
  const { stores } = await openTestStores(dataDir);
  try {
    const q = async (sql: string, params: Record<string, unknown> = {}) => stores.facts.query<Record<string, string>>(sql, { ws: workspaceId!, ...params });
    const [{ everyone }] = await q(`SELECT uniqExact(person_id) AS everyone FROM source_records FINAL WHERE workspace_id = {ws:String} AND person_id > 0`);
    const [{ buyers }] = await q(
      `SELECT uniqExact(person_id) AS buyers FROM orders FINAL WHERE workspace_id = {ws:String} AND person_id > 0 AND status NOT IN ('cancelled', 'pending') AND NOT (status = 'refunded' AND refunded >= amount)`,
    );
    const runs = await stores.state.db.selectFrom('tag_runs').select(['tag_key', 'status', 'people', 'error']).where('workspace_id', '=', workspaceId!).execute();
    const people = new Map(runs.map((r) => [r.tag_key, Number(r.people)]));
    for (const r of runs) assert.equal(r.status, 'completed', `${r.tag_key}: ${r.status} ${r.error ?? ''}`);
    assert.equal(runs.length, RETAIL_PACK.length, 'one run per tag of the pack');
    for (const tag of RETAIL_PACK) assert.ok((people.get(tag.key) ?? 0) > 0, `${tag.key} has values`);
    // Tags about everyone OneID knows.
    for (const key of ['wecom_added', 'is_member', 'subscriber', 'repeat_buyer', 'needs_winback', 'value_segment', 'vip_at_risk']) {
      assert.equal(people.get(key), Number(everyone), `${key}: everyone`);
    }
    // Tags about every buyer.
    for (const key of [
      'first_purchase_date',
      'last_purchase_date',
      'first_platform',
      'orders_total',
      'spend_total',
      'avg_order_value',
      'rfm_group',
      'rfm_score',
      'lifecycle_stage',
      'next_due_date',
      'days_since_last_purchase',
      'fav_category',
      'fav_sku',
      'fav_platform',
      'p_alive',
      'repurchase_30d',
      'clv_1y',
      'clv_tier',
      'discount_share',
      'price_sensitivity',
    ]) {
      assert.equal(people.get(key), Number(buyers), `${key}: every buyer`);
    }
    [{ person }] = await q(
      `SELECT toString(min(person_id)) AS person FROM orders FINAL WHERE workspace_id = {ws:String} AND person_id > 0 AND status NOT IN ('cancelled', 'pending', 'refunded')`,
    );
  } finally {
    await stores.close();
  }
  {
    const shown = await runCli(['tags', 'show', 'rfm_group', '-w', slug], env);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /重要价值客户|一般挽留客户/);
    const profile = await runCli(['people', 'show', person, '-w', slug], env);
    assert.equal(profile.code, 0, profile.stderr);
    for (const label of ['RFM 客户分群', '生命周期阶段', '30天复购概率', '2026-10-31'])
      assert.ok(profile.stdout.includes(label), `people show prints ${label}:\n${profile.stdout}`);
  }
});
