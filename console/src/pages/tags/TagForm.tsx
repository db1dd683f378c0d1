/** The form for the common tag kinds; it edits the definition object the API takes. */
import type { ReactNode } from 'react';
import { useT, type Key } from '../../i18n.ts';
import type { ComparedScalar as Scalar, ComparisonOp } from '../../../../src/contract/conditions.ts';
import type { TagDefinition, TagListItem } from '../../../../src/contract/tags.ts';
import { Field, numberOrUndefined, splitList } from '../../components/Form.tsx';
import { scalarOf, textOf } from '../../values.ts';
import { ValueInput } from '../../components/ValueInput.tsx';
import type { Condition } from '../../../../src/contract/segments.ts';
// A rule's condition is a segment's tree (src/contract/conditions.ts): the same editor, with a rule's leaves.
import { BuilderContext, Comparison, ConditionList, MatchSelect, RULE_ADDABLE } from '../segments/ConditionEditor.tsx';

export const FORM_KINDS = ['manual', 'rule', 'tier', 'statistic', 'sql'] as const;
const NEW_CONDITION: Condition = { type: 'tag', tag: '', op: 'eq', value: '' };

/** A case's condition as the editor shows it: the root group's match and conditions (one condition: match all). */
function rootOf(when: Condition): { match: 'all' | 'any'; conditions: Condition[] } {
  return when.type === 'group' ? { match: when.match, conditions: when.conditions } : { match: 'all', conditions: [when] };
}
/** And back: one condition is itself, several a group. */
function whenOf(match: 'all' | 'any', conditions: Condition[]): Condition {
  return conditions.length === 1 ? conditions[0] : { type: 'group', match, conditions };
}
const VALUE_TYPES = ['string', 'number', 'boolean', 'date', 'string_list'] as const;
const MEASURES = ['count', 'sum', 'avg', 'min', 'max', 'first', 'last', 'share'] as const;
const FIELDS: Record<string, string[]> = { purchases: ['amount', 'item_count', 'discount', 'ordered_at', 'source', 'store_id'], events: ['timestamp', 'event'] };

/** A case's condition: the segment editor's tree (a statistic leaf passes through it as JSON). */
interface Case {
  when: Condition;
  value: Scalar;
}
interface Tier {
  label: string;
  share?: number;
  min?: number;
}
interface Bucket {
  label: string;
  from?: number;
  to?: number;
}

/** Whether the form can show this definition without losing anything (else: JSON). */
export function formSupports(def: TagDefinition | undefined): boolean {
  if (!def || typeof def !== 'object' || !(FORM_KINDS as readonly string[]).includes(def.kind)) return false;
  if (def.kind === 'rule') return Array.isArray(def.cases);
  return true;
}

/** A kind's own fields, as a new tag of that kind starts. */
function defaultsOf(kind: string): Partial<TagDefinition> {
  switch (kind) {
    case 'statistic':
      return { of: 'purchases', measure: 'count', windowDays: 90 };
    case 'tier':
      return { of: '', method: 'quantiles', tiers: [{ label: '高', share: 0.2 }, { label: '中', share: 0.3 }, { label: '低' }] };
    case 'rule':
      return { valueType: 'string', cases: [{ when: NEW_CONDITION, value: '' }] };
    case 'sql':
      return { valueType: 'number', query: 'SELECT person_id, count() AS value\nFROM purchases\nWHERE day > subtractDays({base:Date}, 90)\nGROUP BY person_id' };
    default:
      return { valueType: 'string' };
  }
}

export function TagForm({ def, onChange, tags, isNew }: { def: TagDefinition; onChange: (def: TagDefinition) => void; tags: TagListItem[]; isNew: boolean }) {
  const { t, named, tx } = useT();
  const set = (patch: Partial<TagDefinition>) => onChange({ ...def, ...patch });
  const changeKind = (kind: string) => {
    const { key, name, description } = def;
    onChange({ key, name, ...(description ? { description } : {}), kind, ...defaultsOf(kind) } as TagDefinition);
  };
  return (
    <div className="stack">
      <div className="form-grid">
        <Field label={t('tags.key')} hint={t('tags.keyHint')}>
          <input value={def.key} required disabled={!isNew} pattern="[a-z][a-z0-9_]{1,62}" placeholder="vip_level" onChange={(e) => set({ key: e.target.value })} />
        </Field>
        <Field label={t('tags.kind')}>
          <select value={def.kind} disabled={!isNew} onChange={(e) => changeKind(e.target.value)}>
            {FORM_KINDS.map((k) => (
              <option key={k} value={k}>
                {tx(`tagKind.${k}`, k)}
              </option>
            ))}
          </select>
        </Field>
        <Field label={t('tags.nameZh')}>
          <input value={def.name.zh} required onChange={(e) => set({ name: { ...def.name, zh: e.target.value } })} />
        </Field>
        <Field label={t('tags.nameEn')}>
          <input value={def.name.en} required onChange={(e) => set({ name: { ...def.name, en: e.target.value } })} />
        </Field>
        <Field label={t('tags.description')} className="span-all">
          <input value={def.description ?? ''} onChange={(e) => set({ description: e.target.value || undefined })} />
        </Field>
      </div>
      {def.kind === 'manual' && <ManualFields def={def} set={set} />}
      {def.kind === 'statistic' && <StatisticFields def={def} set={set} />}
      {def.kind === 'tier' && <TierFields def={def} set={set} tags={tags.filter((tag) => tag.valueType === 'number' && tag.key !== def.key)} named={named} />}
      {def.kind === 'rule' && <RuleFields def={def} set={set} tags={tags.filter((tag) => tag.key !== def.key)} />}
      {def.kind === 'sql' && <SqlFields def={def} set={set} />}
    </div>
  );
}

type Setter = (patch: Partial<TagDefinition>) => void;

function Fieldset({ legend, children }: { legend: string; children: ReactNode }) {
  return (
    <fieldset className="fieldset">
      <legend>{legend}</legend>
      {children}
    </fieldset>
  );
}

/** The type of value a manual or SQL tag holds. */
function ValueTypeField({ def, set }: { def: TagDefinition; set: Setter }) {
  const { t } = useT();
  return (
    <Field label={t('tags.valueType')}>
      <select value={String(def.valueType ?? 'string')} onChange={(e) => set({ valueType: e.target.value })}>
        {VALUE_TYPES.map((v) => (
          <option key={v}>{v}</option>
        ))}
      </select>
    </Field>
  );
}

function ManualFields({ def, set }: { def: TagDefinition; set: Setter }) {
  const { t } = useT();
  return (
    <Fieldset legend={t('tagKind.manual')}>
      <div className="form-grid">
        <ValueTypeField def={def} set={set} />
        <Field label={t('tags.options')} hint={t('tags.optionsHint')}>
          <input
            value={((def.options as string[] | undefined) ?? []).join(', ')}
            onChange={(e) => set({ options: splitList(e.target.value).length ? splitList(e.target.value) : undefined })}
          />
        </Field>
      </div>
    </Fieldset>
  );
}

/** A SQL tag: the query as the operator writes it (the server checks it on save and names what to change). */
function SqlFields({ def, set }: { def: TagDefinition; set: Setter }) {
  const { t } = useT();
  return (
    <Fieldset legend={t('tagKind.sql')}>
      <div className="form-grid">
        <ValueTypeField def={def} set={set} />
        <Field label={t('tags.query')} hint={t('tags.queryHint')} className="span-all">
          <textarea
            rows={8}
            spellCheck={false}
            className="mono"
            value={String(def.query ?? '')}
            required
            minLength={10}
            maxLength={20000}
            onChange={(e) => set({ query: e.target.value })}
          />
        </Field>
      </div>
    </Fieldset>
  );
}

/** What a statistic measures: of purchases or events, the measure, its field, the window and the filter (a statistic tag's, and a rule's statistic condition). */
function MeasureFields({ def, set }: { def: Record<string, unknown>; set: (patch: Record<string, unknown>) => void }) {
  const { t } = useT();
  const of = String(def.of ?? 'purchases');
  const measure = String(def.measure ?? 'count');
  return (
    <>
      <Field label={t('tags.of')}>
        <select value={of} onChange={(e) => set({ of: e.target.value, field: undefined, event: undefined, sources: undefined })}>
          <option value="purchases">{t('tags.ofPurchases')}</option>
          <option value="events">{t('tags.ofEvents')}</option>
        </select>
      </Field>
      <Field label={t('tags.measure')}>
        <select value={measure} onChange={(e) => set({ measure: e.target.value, field: e.target.value === 'count' ? undefined : (def.field ?? FIELDS[of][0]) })}>
          {MEASURES.map((m) => (
            <option key={m} value={m}>
              {t(`measure.${m}` as Key)}
            </option>
          ))}
        </select>
      </Field>
      {measure !== 'count' && (
        <Field label={t('tags.field')}>
          <select value={String(def.field ?? '')} onChange={(e) => set({ field: e.target.value })}>
            {FIELDS[of].map((f) => (
              <option key={f}>{f}</option>
            ))}
          </select>
        </Field>
      )}
      <Field label={t('tags.windowDays')} hint={t('tags.windowHint')}>
        <input type="number" min={1} max={3650} value={textOf(def.windowDays)} onChange={(e) => set({ windowDays: numberOrUndefined(e.target.value) })} />
      </Field>
      {of === 'events' ? (
        <Field label={t('tags.event')}>
          <input value={String(def.event ?? '')} placeholder="Order Completed" onChange={(e) => set({ event: e.target.value || undefined })} />
        </Field>
      ) : (
        <Field label={t('tags.sources')} hint={t('tags.sourcesHint')}>
          <input
            value={((def.sources as string[] | undefined) ?? []).join(', ')}
            onChange={(e) => set({ sources: splitList(e.target.value).length ? splitList(e.target.value) : undefined })}
          />
        </Field>
      )}
    </>
  );
}

function StatisticFields({ def, set }: { def: TagDefinition; set: Setter }) {
  const { t } = useT();
  const buckets = (def.buckets as Bucket[] | undefined) ?? [];
  const setBuckets = (next: Bucket[]) => set({ buckets: next.length ? next : undefined });
  return (
    <Fieldset legend={t('tagKind.statistic')}>
      <div className="form-grid">
        <MeasureFields def={def} set={set} />
      </div>
      <h3 className="subhead">{t('tags.buckets')}</h3>
      <p className="muted small">{t('tags.bucketsHint')}</p>
      {buckets.map((b, i) => (
        <div className="row-editor" key={i}>
          <Field label={t('tags.bucketLabel')}>
            <input value={b.label} required onChange={(e) => setBuckets(buckets.map((x, j) => (j === i ? { ...x, label: e.target.value } : x)))} />
          </Field>
          <Field label={t('tags.from')}>
            <input
              type="number"
              step="any"
              value={textOf(b.from)}
              onChange={(e) => setBuckets(buckets.map((x, j) => (j === i ? { ...x, from: numberOrUndefined(e.target.value) } : x)))}
            />
          </Field>
          <Field label={t('tags.to')}>
            <input
              type="number"
              step="any"
              value={textOf(b.to)}
              onChange={(e) => setBuckets(buckets.map((x, j) => (j === i ? { ...x, to: numberOrUndefined(e.target.value) } : x)))}
            />
          </Field>
          <button type="button" className="btn btn-small btn-ghost" aria-label={t('common.remove')} onClick={() => setBuckets(buckets.filter((_, j) => j !== i))}>
            ✕
          </button>
        </div>
      ))}
      <button type="button" className="btn btn-small" onClick={() => setBuckets([...buckets, { label: '' }])}>
        {t('tags.addBucket')}
      </button>
    </Fieldset>
  );
}

function TierFields({ def, set, tags, named }: { def: TagDefinition; set: Setter; tags: TagListItem[]; named: (n: TagListItem['name']) => string }) {
  const { t } = useT();
  const method = String(def.method ?? 'quantiles');
  const tiers = (def.tiers as Tier[] | undefined) ?? [];
  const setTiers = (next: Tier[]) => set({ tiers: next });
  return (
    <Fieldset legend={t('tagKind.tier')}>
      <div className="form-grid">
        <Field label={t('tags.tierOf')} hint={tags.length === 0 ? t('tags.tierOfNone') : undefined}>
          <select value={String(def.of ?? '')} required onChange={(e) => set({ of: e.target.value })}>
            <option value="">{t('common.choose')}</option>
            {tags.map((tag) => (
              <option key={tag.key} value={tag.key}>
                {named(tag.name)} ({tag.key})
              </option>
            ))}
          </select>
        </Field>
        <Field label={t('tags.method')}>
          <select value={method} onChange={(e) => set({ method: e.target.value })}>
            <option value="quantiles">{t('tags.quantiles')}</option>
            <option value="thresholds">{t('tags.thresholds')}</option>
          </select>
        </Field>
      </div>
      <p className="muted small">{method === 'quantiles' ? t('tags.quantilesHint') : t('tags.thresholdsHint')}</p>
      {tiers.map((tier, i) => (
        <div className="row-editor" key={i}>
          <Field label={t('tags.tierLabel', { n: i + 1 })}>
            <input value={tier.label} required onChange={(e) => setTiers(tiers.map((x, j) => (j === i ? { ...x, label: e.target.value } : x)))} />
          </Field>
          {method === 'quantiles' ? (
            <Field label={t('tags.share')}>
              <input
                type="number"
                step="any"
                min={0}
                max={1}
                value={textOf(tier.share)}
                onChange={(e) => setTiers(tiers.map((x, j) => (j === i ? { label: x.label, share: numberOrUndefined(e.target.value) } : x)))}
              />
            </Field>
          ) : (
            <Field label={t('tags.min')}>
              <input
                type="number"
                step="any"
                value={textOf(tier.min)}
                onChange={(e) => setTiers(tiers.map((x, j) => (j === i ? { label: x.label, min: numberOrUndefined(e.target.value) } : x)))}
              />
            </Field>
          )}
          <button
            type="button"
            className="btn btn-small btn-ghost"
            aria-label={t('common.remove')}
            disabled={tiers.length <= 2}
            onClick={() => setTiers(tiers.filter((_, j) => j !== i))}
          >
            ✕
          </button>
        </div>
      ))}
      <button type="button" className="btn btn-small" onClick={() => setTiers([...tiers, { label: '' }])}>
        {t('tags.addTier')}
      </button>
    </Fieldset>
  );
}

function RuleFields({ def, set, tags }: { def: TagDefinition; set: Setter; tags: TagListItem[] }) {
  const { t } = useT();
  const valueType = String(def.valueType ?? 'string');
  const cases = (def.cases as Case[] | undefined) ?? [];
  const setCases = (next: Case[]) => set({ cases: next });
  const setCase = (i: number, patch: Partial<Case>) => setCases(cases.map((c, j) => (j === i ? { ...c, ...patch } : c)));
  return (
    <Fieldset legend={t('tagKind.rule')}>
      <div className="form-grid">
        <Field label={t('tags.valueType')}>
          <select
            value={valueType}
            onChange={(e) =>
              set({
                valueType: e.target.value,
                cases: cases.map((c) => ({ ...c, value: scalarOf(String(c.value), e.target.value) })),
                else: def.else === undefined ? undefined : scalarOf(String(def.else), e.target.value),
              })
            }
          >
            {['string', 'number', 'boolean'].map((v) => (
              <option key={v}>{v}</option>
            ))}
          </select>
        </Field>
      </div>
      <p className="muted small">{t('tags.casesHint')}</p>
      <BuilderContext.Provider value={{ tags, segments: [], identifierTypes: [], addable: RULE_ADDABLE, leafRows: { statistic: statisticRow } }}>
        {cases.map((c, i) => {
          const root = rootOf(c.when);
          return (
            <div className="rule-case stack" key={i} data-case={i}>
              <div className="condition-head">
                <strong>{t('tags.caseOperand', { n: i + 1 })}</strong>
                {root.conditions.length > 1 && <MatchSelect value={root.match} onChange={(match) => setCase(i, { when: whenOf(match, root.conditions) })} />}
                <button
                  type="button"
                  className="btn btn-small btn-ghost"
                  aria-label={t('common.remove')}
                  disabled={cases.length <= 1}
                  onClick={() => setCases(cases.filter((_, j) => j !== i))}
                >
                  ✕
                </button>
              </div>
              <ConditionList conditions={root.conditions} onChange={(conditions) => setCase(i, { when: whenOf(root.match, conditions) })} />
              <Field label={t('tags.then')}>
                <ValueInput value={c.value} required parse={(text) => scalarOf(text, valueType)} onValue={(value) => setCase(i, { value })} />
              </Field>
            </div>
          );
        })}
      </BuilderContext.Provider>
      <button type="button" className="btn btn-small" onClick={() => setCases([...cases, { when: NEW_CONDITION, value: '' }])}>
        {t('tags.addCase')}
      </button>
      <div className="form-grid">
        <Field label={t('tags.else')} hint={t('tags.elseHint')}>
          <ValueInput
            value={def.else as Scalar | undefined}
            parse={(text) => (text.trim() === '' ? undefined : scalarOf(text, valueType))}
            onValue={(value) => set({ else: value })}
          />
        </Field>
      </div>
    </Fieldset>
  );
}

/** A rule's own leaf: a statistic over the person's purchases or events, compared like any value. */
interface StatisticLeaf {
  type: 'statistic';
  statistic: Record<string, unknown>;
  op: ComparisonOp;
  value?: Scalar | Scalar[];
}

/** The type a statistic's value compares as: counts and shares are numbers, a field its own type. */
function statisticType(statistic: Record<string, unknown>): string {
  if (statistic.measure === 'count' || statistic.measure === 'share') return 'number';
  return ({ ordered_at: 'date', timestamp: 'date', source: 'string', store_id: 'string', event: 'string' } as Record<string, string>)[String(statistic.field)] ?? 'number';
}

function statisticRow(condition: Condition, onChange: (c: Condition) => void): ReactNode {
  // The segment editor's Condition has no statistic leaf: this row is the rule's own (src/tags/definition.ts).
  return <StatisticRow leaf={condition as unknown as StatisticLeaf} onChange={(leaf) => onChange(leaf as unknown as Condition)} />;
}

function StatisticRow({ leaf, onChange }: { leaf: StatisticLeaf; onChange: (leaf: StatisticLeaf) => void }) {
  const setStatistic = (patch: Record<string, unknown>) => {
    const statistic = { ...leaf.statistic, ...patch };
    for (const key of Object.keys(statistic)) if (statistic[key] === undefined) delete statistic[key];
    onChange({ ...leaf, statistic });
  };
  return (
    <div className="condition-fields">
      <MeasureFields def={leaf.statistic} set={setStatistic} />
      <Comparison
        op={leaf.op}
        value={leaf.value}
        type={statisticType(leaf.statistic)}
        onChange={(op, value) => onChange(value === undefined ? { type: 'statistic', statistic: leaf.statistic, op } : { ...leaf, op, value })}
      />
    </div>
  );
}
