/**
 * Rule tags' conditions are the tree segments use (src/contract/conditions.ts). The shape rules had
 * before (`{ all: [...] }`, `{ tag, op, value }` …) is still accepted and rewritten to the tree; a rule
 * stored in it is rewritten by state migration 0026 and computes the same values.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql, type Kysely } from 'kysely';
import { openTestStores, tempDir, uniqueSlug } from '../../test/helpers.ts';
import { openPgliteStateStore } from '../stores/state/state-store.ts';
import { migrateState, migrateStateTo } from '../stores/state/migrations.ts';
import { WorkspaceService } from '../access/workspaces.ts';
import { runImport } from '../ingest/importer.ts';
import { tagDefinitionSchema } from './definition.ts';
import { runTags } from './engine.ts';
import { personTags, saveTag } from './store.ts';

const name = { zh: '规则', en: 'Rule' };
/** A rule in the old shape, every kind of node in it. */
const legacyCases = [
  {
    when: {
      all: [{ statistic: { of: 'purchases', measure: 'sum', field: 'amount' }, op: 'gte', value: 200 }, { not: { tag: 'orders_count', op: 'eq', value: 1 } }],
    },
    value: '多次高消费',
  },
  {
    when: {
      any: [
        { tag: 'orders_count', op: 'gte', value: 3 },
        { profile: 'level', op: 'exists' },
      ],
    },
    value: '常客',
  },
  { when: { tag: 'orders_count', op: 'exists' }, value: '买过' },
];
const treeCases = [
  {
    when: {
      type: 'group',
      match: 'all',
      conditions: [
        { type: 'statistic', statistic: { of: 'purchases', measure: 'sum', field: 'amount' }, op: 'gte', value: 200 },
        { type: 'not', condition: { type: 'tag', tag: 'orders_count', op: 'eq', value: 1 } },
      ],
    },
    value: '多次高消费',
  },
  {
    when: {
      type: 'group',
      match: 'any',
      conditions: [
        { type: 'tag', tag: 'orders_count', op: 'gte', value: 3 },
        { type: 'profile', field: 'level', op: 'exists' },
      ],
    },
    value: '常客',
  },
  { when: { type: 'tag', tag: 'orders_count', op: 'exists' }, value: '买过' },
];

test('the old shape is read as the tree, mixed with it too; the tree is answered back', () => {
  const parsed = tagDefinitionSchema.parse({ key: 'legacy_rule', name, kind: 'rule', cases: legacyCases });
  assert.equal(parsed.kind, 'rule');
  assert.deepEqual(parsed.kind === 'rule' && parsed.cases, treeCases);
  assert.deepEqual(parsed.dependsOn, ['orders_count']);
  const mixed = tagDefinitionSchema.parse({
    key: 'mixed_rule',
    name,
    kind: 'rule',
    cases: [{ when: { type: 'not', condition: { all: [{ tag: 'orders_count', op: 'exists' }] } }, value: 'x' }],
  });
  assert.deepEqual(mixed.kind === 'rule' && mixed.cases[0].when, {
    type: 'not',
    condition: { type: 'group', match: 'all', conditions: [{ type: 'tag', tag: 'orders_count', op: 'exists' }] },
  });
  // The tree parses to itself.
  const again = tagDefinitionSchema.parse({ key: 'tree_rule', name, kind: 'rule', cases: treeCases });
  assert.deepEqual(again.kind === 'rule' && again.cases, treeCases);
});

test('a wrong node is named by its path in the tree, in either shape', () => {
  const issues = (cases: unknown) => {
    const result = tagDefinitionSchema.safeParse({ key: 'bad_rule', name, kind: 'rule', cases });
    assert.equal(result.success, false);
    return result.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  };
  assert.ok(
    issues([
      {
        when: {
          any: [
            { tag: 'a_tag', op: 'exists' },
            { tag: 'a_tag', op: 'gt' },
          ],
        },
        value: 'x',
      },
    ]).includes('cases.0.when.conditions.1.value: gt needs a value'),
  );
  assert.ok(issues([{ when: { type: 'profile', field: 'points', op: 'gt', value: 'many' }, value: 'x' }]).includes('cases.0.when.value: points is a number: "many" is not one'));
  assert.ok(issues([{ when: { type: 'group', match: 'all', conditions: [] }, value: 'x' }]).includes('cases.0.when.conditions: a group needs at least one condition'));
  // A segment-only leaf is no rule's.
  assert.equal(issues([{ when: { type: 'sample', percent: 10, salt: '' }, value: 'x' }]).length, 1);
  // A tree past the segments' limits is refused as theirs is.
  let deep: unknown = { type: 'tag', tag: 'a_tag', op: 'exists' };
  for (let i = 0; i < 40; i++) deep = { not: deep };
  assert.ok(issues([{ when: deep, value: 'x' }]).some((m) => /nested 41 levels deep; at most 32/.test(m)));
});

test('state migration 0026 rewrites a stored rule to the tree; it parses and computes the same values as the old shape', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'siyu-rule-tree-'));
  const state = await openPgliteStateStore(dir);
  let migrated: unknown;
  try {
    const db = state.db as unknown as Kysely<unknown>;
    await migrateStateTo(db, '0025_rule_conditions');
    await sql`INSERT INTO workspaces (id, slug, name) VALUES ('ws_tree', 'tree', 'tree')`.execute(db);
    const legacy = { key: 'legacy_rule', name, kind: 'rule', cases: legacyCases, else: '没买过' };
    const other = { key: 'orders_count', name, kind: 'statistic', of: 'purchases', measure: 'count' };
    await sql`INSERT INTO tag_definitions (workspace_id, key, definition) VALUES ('ws_tree', 'legacy_rule', ${JSON.stringify(legacy)}::jsonb), ('ws_tree', 'orders_count', ${JSON.stringify(other)}::jsonb)`.execute(
      db,
    );
    const { applied } = await migrateState(db);
    assert.ok(applied.includes('0026_rule_condition_tree'), applied.join(', '));
    const rows = (await sql<{ key: string; definition: unknown }>`SELECT key, definition FROM tag_definitions ORDER BY key`.execute(db)).rows;
    const stored = rows.map((r) => (typeof r.definition === 'string' ? JSON.parse(r.definition) : r.definition));
    assert.deepEqual(stored[0].cases, treeCases);
    assert.deepEqual(stored[1], other, 'other kinds are left as they are');
    migrated = stored[0];
    assert.deepEqual(tagDefinitionSchema.parse(migrated), tagDefinitionSchema.parse(legacy));
  } finally {
    await state.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }

  // The old shape and the migrated rule, side by side over the same people.
  const { stores } = await openTestStores();
  try {
    const ws = await new WorkspaceService(stores.state).create({ slug: uniqueSlug('rule-tree'), name: 'rule tree' });
    const orders = path.join(tempDir(), 'orders.csv');
    fs.writeFileSync(
      orders,
      [
        'order_id,ordered_at,amount,member_no',
        'a1,2026-06-01 10:00,150,MA',
        'a2,2026-06-02 10:00,150,MA',
        'b1,2026-06-03 10:00,300,MB',
        'c1,2026-06-04 10:00,20,MC',
        'c2,2026-06-05 10:00,20,MC',
        'c3,2026-06-06 10:00,20,MC',
        '',
      ].join('\n'),
    );
    await runImport(stores, { workspace: ws, kind: 'orders', source: 'erp', files: [orders] });
    const members = path.join(tempDir(), 'members.csv');
    fs.writeFileSync(members, 'member_no,level\nMD,gold\n');
    await runImport(stores, { workspace: ws, kind: 'members', source: 'crm', files: [members] });
    await saveTag(stores, ws.id, { key: 'orders_count', name, kind: 'statistic', of: 'purchases', measure: 'count' });
    await saveTag(stores, ws.id, { key: 'old_shape', name, kind: 'rule', cases: legacyCases, else: '没买过' } as never);
    await saveTag(stores, ws.id, { ...(migrated as object), key: 'migrated' } as never);
    await runTags(stores, { workspaceId: ws.id, baseDate: '2026-06-30' });
    const people = await stores.facts.query<{ member: string; person: string }>(
      `SELECT value AS member, person_id AS person FROM person_identities FINAL WHERE workspace_id = {ws:String} AND type = 'member_no' ORDER BY member`,
      { ws: ws.id },
    );
    assert.equal(people.length, 4);
    const byTag = async (tag: string) => {
      const out: Record<string, unknown> = {};
      for (const p of people) out[p.member] = (await personTags(stores, ws.id, Number(p.person))).find((t) => t.key === tag)?.value;
      return out;
    };
    const expected = { MA: '多次高消费', MB: '买过', MC: '常客', MD: '常客' };
    assert.deepEqual(await byTag('old_shape'), expected);
    assert.deepEqual(await byTag('migrated'), expected);
  } finally {
    await stores.close();
  }
});
