/**
 * Rule tags compare as segments do (src/contract/conditions.ts). A rule stored before, with leaves
 * the old check let through, is rewritten by state migration 0025 and reads again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql, type Kysely } from 'kysely';
import { openPgliteStateStore } from '../stores/state/state-store.ts';
import { migrateStateTo } from '../stores/state/migrations.ts';
import { tagDefinitionSchema } from './definition.ts';

const legacy = {
  key: 'legacy_rule',
  name: { zh: '旧规则', en: 'Legacy rule' },
  kind: 'rule',
  cases: [
    { when: { tag: 'stage', op: 'exists', value: 'ignored' }, value: 'a' },
    { when: { tag: 'favourites', op: 'eq', value: ['tea', 'coffee'] }, value: 'b' },
    {
      when: {
        any: [
          { tag: 'favourites', op: 'ne', value: ['tea', 'coffee'] },
          { profile: 'level', op: 'eq', value: ['gold'] },
        ],
      },
      value: 'c',
    },
    { when: { not: { tag: 'stage', op: 'in', value: [] } }, value: 'd' },
  ],
};

test('the comparison segments use refuses what rule tags once let through, naming the value', () => {
  const result = tagDefinitionSchema.safeParse(legacy);
  assert.equal(result.success, false);
  const messages = result.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  assert.ok(messages.includes('cases.0.when.value: exists takes no value'), messages.join('\n'));
  assert.ok(messages.includes('cases.1.when.value: eq needs one value, not a list (in takes a list)'), messages.join('\n'));
});

test('state migration 0025 rewrites a stored rule to the same meaning, and it reads again', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'siyu-rule-migration-'));
  const state = await openPgliteStateStore(dir);
  try {
    const db = state.db as unknown as Kysely<unknown>;
    await migrateStateTo(db, '0024_drop_login_lock');
    await sql`INSERT INTO workspaces (id, slug, name) VALUES ('ws_legacy', 'legacy', 'legacy')`.execute(db);
    await sql`INSERT INTO tag_definitions (workspace_id, key, definition) VALUES ('ws_legacy', 'legacy_rule', ${JSON.stringify(legacy)}::jsonb)`.execute(db);
    await migrateStateTo(db, '0025_rule_conditions');
    const [row] = (await sql<{ definition: unknown }>`SELECT definition FROM tag_definitions WHERE key = 'legacy_rule'`.execute(db)).rows;
    const stored = typeof row.definition === 'string' ? JSON.parse(row.definition) : row.definition;
    assert.deepEqual(
      stored.cases.map((c: { when: unknown }) => c.when),
      [
        { tag: 'stage', op: 'exists' },
        { tag: 'favourites', op: 'in', value: ['tea', 'coffee'] },
        {
          any: [{ all: [{ tag: 'favourites', op: 'exists' }, { not: { tag: 'favourites', op: 'in', value: ['tea', 'coffee'] } }] }, { profile: 'level', op: 'eq', value: 'gold' }],
        },
        {
          not: {
            all: [
              { tag: 'stage', op: 'exists' },
              { tag: 'stage', op: 'missing' },
            ],
          },
        },
      ],
    );
    const tag = tagDefinitionSchema.parse(stored);
    assert.deepEqual(tag.kind === 'rule' && tag.dependsOn.sort(), ['favourites', 'stage']);
  } finally {
    await state.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
