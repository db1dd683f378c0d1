/** Values typed into forms, read as the type the API expects (a tag's value type, a profile field's). */
import type { ComparedScalar as Scalar } from '../../src/contract/conditions.ts';
import { PROFILE_FIELD_TYPES } from '../../src/contract/profile.ts';

/** Member profile fields and their types, as the API takes them (read by any name a form holds). */
export const PROFILE_FIELDS: Record<string, 'string' | 'number' | 'date'> = PROFILE_FIELD_TYPES;

export function scalarOf(text: string, type: string | undefined): Scalar {
  const trimmed = text.trim();
  if (type === 'number') {
    const n = Number(trimmed);
    return trimmed !== '' && Number.isFinite(n) ? n : trimmed;
  }
  if (type === 'boolean') return trimmed === 'true' ? true : trimmed === 'false' ? false : trimmed;
  return trimmed;
}

export function listOf(text: string, type: string | undefined): Scalar[] {
  return text
    .split(/[,，;；]/)
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => scalarOf(s, type));
}

/** A value back to text for its input. */
export function textOf(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (Array.isArray(value)) return value.map(String).join(', ');
  return String(value);
}
