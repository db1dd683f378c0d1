/**
 * State migration 0025: rule tags' conditions moved to the comparison segments use
 * (src/contract/conditions.ts), which is stricter on values than rule tags were. A stored rule whose
 * leaves the old check let through is rewritten to one that selects the same people:
 * - exists / missing with a value: the value was never read, and is dropped;
 * - in with an empty list held for no one: "has it and has it not";
 * - eq / ne / gt … with a list: one element is that value; eq with several is in (a list tag held
 *   when it had any of them, as in does), ne with several "has it and not in" (a list tag: has none
 *   of them); an ordered comparison with several compared with their text joined by commas, and
 *   still does (a number tag now refuses it when run, naming the value, where it matched no one).
 * Strings over 2,000 characters and numbers beyond ±2^53 in a rule are left as they are.
 */

type Json = unknown;
const ONE_VALUE_OPS = new Set(['eq', 'ne', 'gt', 'gte', 'lt', 'lte']);

function isObject(value: Json): value is Record<string, Json> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function normaliseCondition(condition: Json): Json {
  if (!isObject(condition)) return condition;
  if (Array.isArray(condition.all)) return { ...condition, all: condition.all.map(normaliseCondition) };
  if (Array.isArray(condition.any)) return { ...condition, any: condition.any.map(normaliseCondition) };
  if ('not' in condition) return { ...condition, not: normaliseCondition(condition.not) };
  const { op, value, ...operand } = condition;
  if (typeof op !== 'string') return condition;
  if ((op === 'exists' || op === 'missing') && value !== undefined) return { ...operand, op };
  if (op === 'in' && Array.isArray(value) && value.length === 0)
    return {
      all: [
        { ...operand, op: 'exists' },
        { ...operand, op: 'missing' },
      ],
    };
  if (!ONE_VALUE_OPS.has(op) || !Array.isArray(value)) return condition;
  if (value.length === 1) return { ...operand, op, value: value[0] };
  if (op === 'eq') return { ...operand, op: 'in', value };
  if (op === 'ne') return { all: [{ ...operand, op: 'exists' }, { not: { ...operand, op: 'in', value } }] };
  return { ...operand, op, value: value.map(String).join(',') };
}

/** A stored tag definition with its rule's conditions rewritten (any other definition as it is). */
export function normaliseRuleConditions(definition: Json): Json {
  if (!isObject(definition) || definition.kind !== 'rule' || !Array.isArray(definition.cases)) return definition;
  return { ...definition, cases: definition.cases.map((c) => (isObject(c) ? { ...c, when: normaliseCondition(c.when) } : c)) };
}

/**
 * State migration 0026, and every rule a client sends (API, CLI, pack files): rule conditions once
 * had a shape of their own — `{ all: [...] }`, `{ any: [...] }`, `{ not: … }` and untyped leaves
 * `{ tag, op, value }`, `{ profile, op, value }`, `{ statistic, op, value }` — and are now the tree
 * segments use (src/contract/conditions.ts): `{ type: 'group', match, conditions }`,
 * `{ type: 'not', condition }`, `{ type: 'tag' | 'profile' | 'statistic', … }`. Nodes already in
 * the new shape are kept; anything unrecognised is left for the schema to name.
 */
export function ruleConditionTree(condition: Json): Json {
  if (!isObject(condition)) return condition;
  if (typeof condition.type === 'string') {
    if (condition.type === 'group' && Array.isArray(condition.conditions)) return { ...condition, conditions: condition.conditions.map(ruleConditionTree) };
    if (condition.type === 'not' && 'condition' in condition) return { ...condition, condition: ruleConditionTree(condition.condition) };
    return condition;
  }
  for (const match of ['all', 'any'] as const) {
    if (!(match in condition)) continue;
    const { [match]: conditions, ...rest } = condition;
    return { type: 'group', match, conditions: Array.isArray(conditions) ? conditions.map(ruleConditionTree) : conditions, ...rest };
  }
  if ('not' in condition) {
    const { not, ...rest } = condition;
    return { type: 'not', condition: ruleConditionTree(not), ...rest };
  }
  if ('profile' in condition) {
    const { profile, ...rest } = condition;
    return { type: 'profile', field: profile, ...rest };
  }
  if ('tag' in condition) return { type: 'tag', ...condition };
  if ('statistic' in condition) return { type: 'statistic', ...condition };
  return condition;
}

/** A stored tag definition with its rule's conditions in the tree shape (any other definition as it is). */
export function ruleConditionTrees(definition: Json): Json {
  if (!isObject(definition) || definition.kind !== 'rule' || !Array.isArray(definition.cases)) return definition;
  return { ...definition, cases: definition.cases.map((c) => (isObject(c) ? { ...c, when: ruleConditionTree(c.when) } : c)) };
}
