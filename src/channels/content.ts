/**
 * Reading a rendered message's content. Templates render one text per field, so a nested field can
 * arrive either as an object (`data: { first: 'Hi' }`) or flattened (`'data.first': 'Hi'`); both read
 * the same here.
 */

/** A required text field, or undefined when it is missing or empty. */
export function textField(content: Record<string, unknown>, name: string): string | undefined {
  const value = content[name];
  if (typeof value === 'string') return value.length > 0 ? value : undefined;
  if (typeof value === 'number') return String(value);
  return undefined;
}

/**
 * The fields under `prefix`, from `content[prefix]` (an object whose values are text or `{ value }`)
 * and from flattened `prefix.name` keys.
 */
export function nestedTextFields(content: Record<string, unknown>, prefix: string): Record<string, string> {
  const fields: Record<string, string> = {};
  const nested = content[prefix];
  if (nested !== null && typeof nested === 'object' && !Array.isArray(nested)) {
    for (const [name, value] of Object.entries(nested)) {
      const text = textOf(value);
      if (text !== undefined) fields[name] = text;
    }
  }
  for (const [key, value] of Object.entries(content)) {
    if (!key.startsWith(`${prefix}.`)) continue;
    const text = textOf(value);
    if (text !== undefined) fields[key.slice(prefix.length + 1)] = text;
  }
  return fields;
}

function textOf(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value !== null && typeof value === 'object' && 'value' in value) return textOf((value as { value: unknown }).value);
  return undefined;
}

/** WeChat's template data shape: `{ key: { value } }`. */
export function wechatTemplateData(fields: Record<string, string>): Record<string, { value: string }> {
  return Object.fromEntries(Object.entries(fields).map(([name, value]) => [name, { value }]));
}
