/**
 * Tag values as the facts store keeps them: one row per (tag, run, person) in tag_values, the value
 * in the column of its type. Segments, plans' templates and insights read them through this map.
 */

export const VALUE_TYPES = ['string', 'number', 'boolean', 'date', 'string_list'] as const;
export type ValueType = (typeof VALUE_TYPES)[number];

/** The value column of tag_values for each type. */
export const VALUE_COLUMN: Record<ValueType, string> = {
  string: 'v_string',
  number: 'v_number',
  boolean: 'v_bool',
  date: 'v_date',
  string_list: 'v_list',
};
