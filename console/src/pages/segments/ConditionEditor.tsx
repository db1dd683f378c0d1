/**
 * The condition tree editor: and/or groups of rows (tag value, profile field, behaviour event count
 * in the last N days, orders, another segment, an identifier); any row can be negated. Types the rows
 * do not cover (sequence, sample, list) are edited as JSON in place. Rule tags' cases use it too,
 * with their own leaves (BuilderData.addable, and a row for a statistic: leafRows).
 */
import { createContext, useContext, useState, type ReactNode } from 'react';
import { useT, type Key } from '../../i18n.ts';
import type { Named } from '../../../../src/contract/common.ts';
import type { ComparedScalar as Scalar, ComparisonOp as ValueOp } from '../../../../src/contract/conditions.ts';
import type { IdentifierType } from '../../../../src/contract/identity.ts';
import type { TagListItem } from '../../../../src/contract/tags.ts';
import type { Condition, Window } from '../../../../src/contract/segments.ts';
import { Field, numberOrUndefined } from '../../components/Form.tsx';
import { ValueInput } from '../../components/ValueInput.tsx';
import { parseJson } from '../../components/JsonEditor.tsx';
import { PROFILE_FIELDS, listOf, scalarOf, textOf } from '../../values.ts';

export interface BuilderData {
  tags: TagListItem[];
  segments: Array<{ key: string; name: Named }>;
  identifierTypes: IdentifierType[];
  /** The segment being edited (not offered as its own condition). */
  self?: string;
  /** The conditions the add buttons offer (a rule tag's tree has fewer leaves than a segment's). */
  addable?: readonly Addable[];
  /** Row editors for leaves the segment editor does not know (a rule's statistic), by type. */
  leafRows?: Record<string, (condition: Condition, onChange: (c: Condition) => void) => ReactNode>;
}

export const BuilderContext = createContext<BuilderData>({ tags: [], segments: [], identifierTypes: [] });

const VALUE_OPS: ValueOp[] = ['eq', 'ne', 'in', 'between', 'gt', 'gte', 'lt', 'lte', 'exists', 'missing'];
const ADDABLE = ['tag', 'profile', 'event', 'orders', 'segment', 'identifier', 'group'] as const;
/** A rule tag's conditions: the tree segments use over tag, profile and statistic leaves. */
export const RULE_ADDABLE = ['tag', 'profile', 'statistic', 'group'] as const;
type Addable = (typeof ADDABLE)[number] | (typeof RULE_ADDABLE)[number];

function newCondition(type: Addable, data: BuilderData): Condition {
  switch (type) {
    case 'tag':
      return { type: 'tag', tag: data.tags[0]?.key ?? '', op: 'eq', value: '' };
    case 'profile':
      return { type: 'profile', field: 'level', op: 'eq', value: '' };
    case 'event':
      return { type: 'event', event: '', where: [], count: { min: 1 }, window: { days: 30 } };
    case 'orders':
      return { type: 'orders', count: { min: 1 }, window: { days: 90 } };
    case 'segment':
      return { type: 'segment', segment: data.segments.find((s) => s.key !== data.self)?.key ?? '' };
    case 'identifier':
      return { type: 'identifier', identifierType: data.identifierTypes[0]?.name ?? 'phone' };
    case 'group':
      return { type: 'group', match: 'any', conditions: [] };
    case 'statistic':
      // A rule's own leaf (src/tags/definition.ts), edited by the row the rule form hands in (leafRows).
      return { type: 'statistic', statistic: { of: 'purchases', measure: 'count', windowDays: 90 }, op: 'gte', value: 1 } as unknown as Condition;
  }
}

/** Why a tree cannot be counted yet (an empty field), or null when it can be sent. */
export function incomplete(conditions: Condition[]): Key | null {
  if (conditions.length === 0) return 'builder.needCondition';
  for (const c of conditions) {
    if (c.type === 'group') {
      if (c.conditions.length === 0) return 'builder.emptyGroup';
      const inner = incomplete(c.conditions);
      if (inner) return inner;
    } else if (c.type === 'not') {
      const inner = incomplete([c.condition]);
      if (inner) return inner;
    } else if (c.type === 'tag' && !c.tag) return 'builder.pickTag';
    else if (c.type === 'event' && !c.event.trim()) return 'builder.nameEvent';
    else if (c.type === 'segment' && !c.segment) return 'builder.pickSegment';
    else if ((c.type === 'tag' || c.type === 'profile') && c.op !== 'exists' && c.op !== 'missing') {
      const empty = c.value === undefined || c.value === '' || (Array.isArray(c.value) && (c.value.length === 0 || c.value.some((v) => v === '')));
      if (empty) return 'builder.fillValue';
    }
  }
  return null;
}

/** The conditions of a group (or the root), with add buttons. */
export function ConditionList({ conditions, onChange, depth = 0 }: { conditions: Condition[]; onChange: (conditions: Condition[]) => void; depth?: number }) {
  const { t } = useT();
  const data = useContext(BuilderContext);
  return (
    <div className="condition-list">
      {conditions.length === 0 && <p className="muted small">{t('builder.noConditions')}</p>}
      {conditions.map((c, i) => (
        <ConditionRow
          key={i}
          index={i}
          condition={c}
          depth={depth}
          onChange={(next) => onChange(conditions.map((x, j) => (j === i ? next : x)))}
          onRemove={() => onChange(conditions.filter((_, j) => j !== i))}
        />
      ))}
      <div className="add-row" role="group" aria-label={t('builder.add')}>
        <span className="muted small">{t('builder.add')}</span>
        {(data.addable ?? ADDABLE)
          .filter((type) => type !== 'group' || depth < 3)
          .map((type) => (
            <button key={type} type="button" className="btn btn-small" onClick={() => onChange([...conditions, newCondition(type, data)])}>
              + {t(`cond.${type}` as Key)}
            </button>
          ))}
      </div>
    </div>
  );
}

function ConditionRow({
  condition,
  onChange,
  onRemove,
  depth,
  index,
}: {
  condition: Condition;
  onChange: (c: Condition) => void;
  onRemove: () => void;
  depth: number;
  index: number;
}) {
  const { t } = useT();
  const negated = condition.type === 'not';
  const inner = condition.type === 'not' ? condition.condition : condition;
  const setInner = (c: Condition) => onChange(negated ? { type: 'not', condition: c } : c);
  return (
    <div className={`condition ${negated ? 'negated' : ''} ${inner.type === 'group' ? 'condition-group' : ''}`} data-type={inner.type}>
      <div className="condition-head">
        <span className="condition-type">{t(`cond.${inner.type}` as Key)}</span>
        <label className="check small">
          <input type="checkbox" checked={negated} onChange={(e) => onChange(e.target.checked ? { type: 'not', condition: inner } : inner)} />
          {t('builder.not')}
        </label>
        <button type="button" className="btn btn-small btn-ghost" aria-label={t('builder.removeN', { n: index + 1 })} onClick={onRemove}>
          ✕
        </button>
      </div>
      <ConditionBody condition={inner} onChange={setInner} depth={depth} />
    </div>
  );
}

function ConditionBody({ condition, onChange, depth }: { condition: Condition; onChange: (c: Condition) => void; depth: number }) {
  const { t } = useT();
  const ownRow = useContext(BuilderContext).leafRows?.[condition.type];
  if (ownRow) return <>{ownRow(condition, onChange)}</>;
  switch (condition.type) {
    case 'group':
      return (
        <>
          <MatchSelect value={condition.match} onChange={(match) => onChange({ ...condition, match })} />
          <ConditionList conditions={condition.conditions} depth={depth + 1} onChange={(conditions) => onChange({ ...condition, conditions })} />
        </>
      );
    case 'not':
      return <ConditionList conditions={[condition.condition]} depth={depth + 1} onChange={(c) => c[0] && onChange({ ...condition, condition: c[0] })} />;
    case 'tag':
      return <TagRow condition={condition} onChange={onChange} />;
    case 'profile':
      return (
        <div className="condition-fields">
          <Field label={t('cond.field')}>
            <select value={condition.field} onChange={(e) => onChange({ ...condition, field: e.target.value as typeof condition.field })}>
              {Object.keys(PROFILE_FIELDS).map((f) => (
                <option key={f} value={f}>
                  {t(`profile.${f}` as Key)}
                </option>
              ))}
            </select>
          </Field>
          <Comparison op={condition.op} value={condition.value} type={PROFILE_FIELDS[condition.field]} onChange={(op, value) => onChange(withComparison(condition, op, value))} />
        </div>
      );
    case 'event':
      return (
        <div className="condition-fields">
          <Field label={t('cond.eventName')}>
            <input value={condition.event} required placeholder="Order Completed" onChange={(e) => onChange({ ...condition, event: e.target.value })} />
          </Field>
          <CountRange value={condition.count} onChange={(count) => onChange({ ...condition, count })} />
          <WindowDays value={condition.window} required onChange={(window) => window && onChange({ ...condition, window })} />
        </div>
      );
    case 'orders':
      return (
        <div className="condition-fields">
          <CountRange value={condition.count} onChange={(count) => onChange({ ...condition, count })} />
          <WindowDays value={condition.window} onChange={(window) => onChange(window ? { ...condition, window } : dropKey(condition, 'window'))} />
          <ListField label={t('cond.skus')} value={condition.skus} onChange={(skus) => onChange(skus ? { ...condition, skus } : dropKey(condition, 'skus'))} />
          <ListField
            label={t('cond.categories')}
            value={condition.categories}
            onChange={(categories) => onChange(categories ? { ...condition, categories } : dropKey(condition, 'categories'))}
          />
          <ListField label={t('cond.sources')} value={condition.sources} onChange={(sources) => onChange(sources ? { ...condition, sources } : dropKey(condition, 'sources'))} />
          <Field label={t('cond.amountMin')}>
            <input type="number" min={0} step="any" value={textOf(condition.amount?.min)} onChange={(e) => onChange(withRange(condition, 'amount', 'min', e.target.value))} />
          </Field>
        </div>
      );
    case 'segment':
      return <SegmentRow condition={condition} onChange={onChange} />;
    case 'identifier':
      return <IdentifierRow condition={condition} onChange={onChange} />;
    default:
      return <RawRow condition={condition} onChange={onChange} />;
  }
}

function dropKey<C extends Condition, K extends keyof C>(condition: C, key: K): C {
  const copy = { ...condition };
  delete copy[key];
  return copy;
}

function withRange(condition: Extract<Condition, { type: 'orders' }>, key: 'amount', end: 'min' | 'max', text: string): Condition {
  const range = { ...(condition[key] ?? {}), [end]: numberOrUndefined(text) };
  if (range[end] === undefined) delete range[end];
  return Object.keys(range).length ? { ...condition, [key]: range } : dropKey(condition, key);
}

function withComparison<C extends Extract<Condition, { type: 'tag' | 'profile' }>>(condition: C, op: ValueOp, value: Scalar | Scalar[] | undefined): C {
  const next = { ...condition, op };
  if (value === undefined) delete next.value;
  else next.value = value;
  return next;
}

export function MatchSelect({ value, onChange, label }: { value: 'all' | 'any'; onChange: (v: 'all' | 'any') => void; label?: string }) {
  const { t } = useT();
  return (
    <Field label={label ?? t('builder.match')} className="field-inline">
      <select value={value} onChange={(e) => onChange(e.target.value as 'all' | 'any')}>
        <option value="all">{t('builder.all')}</option>
        <option value="any">{t('builder.any')}</option>
      </select>
    </Field>
  );
}

function TagRow({ condition, onChange }: { condition: Extract<Condition, { type: 'tag' }>; onChange: (c: Condition) => void }) {
  const { t, named } = useT();
  const { tags } = useContext(BuilderContext);
  const tag = tags.find((x) => x.key === condition.tag);
  return (
    <div className="condition-fields">
      <Field label={t('cond.tag')} hint={tags.length === 0 ? t('builder.noTags') : undefined}>
        <select value={condition.tag} required onChange={(e) => onChange({ ...condition, tag: e.target.value })}>
          <option value="">{t('common.choose')}</option>
          {tags.map((x) => (
            <option key={x.key} value={x.key}>
              {named(x.name)} ({x.key})
            </option>
          ))}
        </select>
      </Field>
      <Comparison op={condition.op} value={condition.value} type={tag?.valueType} onChange={(op, value) => onChange(withComparison(condition, op, value))} />
    </div>
  );
}

/** An operator and its value: one, a list (in), a pair (between) or none (exists, missing). A rule's statistic row uses it too. */
export function Comparison({
  op,
  value,
  type,
  onChange,
}: {
  op: ValueOp;
  value: Scalar | Scalar[] | undefined;
  type: string | undefined;
  onChange: (op: ValueOp, value: Scalar | Scalar[] | undefined) => void;
}) {
  const { t } = useT();
  const changeOp = (next: ValueOp) => {
    if (next === 'exists' || next === 'missing') return onChange(next, undefined);
    const first = Array.isArray(value) ? value[0] : value;
    if (next === 'in') return onChange(next, first === undefined || first === '' ? [] : [first]);
    if (next === 'between') return onChange(next, [first ?? '', Array.isArray(value) ? (value[1] ?? '') : '']);
    return onChange(next, first ?? '');
  };
  const pair = Array.isArray(value) ? value : [value ?? '', ''];
  return (
    <>
      <Field label={t('cond.op')}>
        <select value={op} onChange={(e) => changeOp(e.target.value as ValueOp)}>
          {VALUE_OPS.map((o) => (
            <option key={o} value={o}>
              {t(`op.${o}` as Key)}
            </option>
          ))}
        </select>
      </Field>
      {op === 'in' && (
        <Field label={t('cond.values')} hint={t('cond.valuesHint')}>
          <ValueInput value={value} parse={(text) => listOf(text, type)} onValue={(v) => onChange(op, v)} />
        </Field>
      )}
      {op === 'between' && (
        <>
          <Field label={t('cond.low')}>
            <ValueInput value={pair[0]} parse={(text) => scalarOf(text, type)} onValue={(v) => onChange(op, [v, pair[1] ?? ''])} />
          </Field>
          <Field label={t('cond.high')}>
            <ValueInput value={pair[1]} parse={(text) => scalarOf(text, type)} onValue={(v) => onChange(op, [pair[0] ?? '', v])} />
          </Field>
        </>
      )}
      {op !== 'in' && op !== 'between' && op !== 'exists' && op !== 'missing' && (
        <Field label={t('cond.value')}>
          <ValueInput
            value={Array.isArray(value) ? value[0] : value}
            parse={(text) => scalarOf(text, type)}
            onValue={(v) => onChange(op, v)}
            placeholder={type === 'date' ? 'YYYY-MM-DD' : undefined}
          />
        </Field>
      )}
    </>
  );
}

function CountRange({ value, onChange }: { value: { min?: number; max?: number } | undefined; onChange: (v: { min?: number; max?: number }) => void }) {
  const { t } = useT();
  const set = (end: 'min' | 'max', text: string) => {
    const next = { ...(value ?? {}), [end]: numberOrUndefined(text) };
    if (next[end] === undefined) delete next[end];
    onChange(next);
  };
  return (
    <>
      <Field label={t('cond.countMin')}>
        <input type="number" min={0} step={1} value={textOf(value?.min)} onChange={(e) => set('min', e.target.value)} />
      </Field>
      <Field label={t('cond.countMax')}>
        <input type="number" min={0} step={1} value={textOf(value?.max)} onChange={(e) => set('max', e.target.value)} />
      </Field>
    </>
  );
}

function WindowDays({ value, onChange, required }: { value: Window | undefined; onChange: (w: Window | undefined) => void; required?: boolean }) {
  const { t } = useT();
  if (value && 'from' in value) {
    return (
      <Field label={t('cond.window')}>
        <input value={`${value.from} – ${value.to}`} readOnly />
      </Field>
    );
  }
  return (
    <Field label={t('cond.windowDays')} hint={required ? undefined : t('cond.windowOptional')}>
      <input
        type="number"
        min={1}
        step={1}
        required={required}
        value={textOf(value?.days)}
        onChange={(e) => onChange(numberOrUndefined(e.target.value) === undefined ? undefined : { days: Number(e.target.value) })}
      />
    </Field>
  );
}

function ListField({ label, value, onChange }: { label: string; value: string[] | undefined; onChange: (v: string[] | undefined) => void }) {
  const { t } = useT();
  return (
    <Field label={label} hint={t('cond.valuesHint')}>
      <ValueInput
        value={value}
        parse={(text) => {
          const list = listOf(text, 'string').map(String);
          return list.length ? list : undefined;
        }}
        onValue={onChange}
      />
    </Field>
  );
}

function SegmentRow({ condition, onChange }: { condition: Extract<Condition, { type: 'segment' }>; onChange: (c: Condition) => void }) {
  const { t, named } = useT();
  const { segments, self } = useContext(BuilderContext);
  return (
    <div className="condition-fields">
      <Field label={t('cond.segment')}>
        <select value={condition.segment} required onChange={(e) => onChange({ ...condition, segment: e.target.value })}>
          <option value="">{t('common.choose')}</option>
          {segments
            .filter((s) => s.key !== self)
            .map((s) => (
              <option key={s.key} value={s.key}>
                {named(s.name)} ({s.key})
              </option>
            ))}
        </select>
      </Field>
    </div>
  );
}

function IdentifierRow({ condition, onChange }: { condition: Extract<Condition, { type: 'identifier' }>; onChange: (c: Condition) => void }) {
  const { t } = useT();
  const { identifierTypes } = useContext(BuilderContext);
  const names = identifierTypes.length ? identifierTypes.map((i) => i.name) : [condition.identifierType];
  return (
    <div className="condition-fields">
      <Field label={t('cond.identifierType')}>
        <select value={condition.identifierType} onChange={(e) => onChange({ ...condition, identifierType: e.target.value })}>
          {names.map((n) => (
            <option key={n}>{n}</option>
          ))}
        </select>
      </Field>
    </div>
  );
}

/** A condition type without a row editor: its JSON, applied when it parses. */
function RawRow({ condition, onChange }: { condition: Condition; onChange: (c: Condition) => void }) {
  const { t } = useT();
  const [text, setText] = useState(() => JSON.stringify(condition, null, 2));
  const parsed = parseJson(text);
  return (
    <Field label={t('builder.rawCondition')} hint={parsed.error ? t('json.invalid', { message: parsed.error }) : t('builder.rawHint')}>
      <textarea
        className="code"
        rows={5}
        value={text}
        onChange={(e) => {
          setText(e.target.value);
          const next = parseJson(e.target.value);
          if (next.value && typeof next.value === 'object') onChange(next.value as Condition);
        }}
      />
    </Field>
  );
}
