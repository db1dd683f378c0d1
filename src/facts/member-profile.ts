/**
 * The one member profile: the fields a brand keeps about its members, read from member records only
 * (an order's or a tracked visitor's birthday is what they typed at checkout, not the member file).
 * When a person has several member records, each field takes the latest non-empty value (by the
 * record's seen_at), field by field. Tags, segments, plans' templates, journeys and the person view
 * all read it through `memberProfile`.
 */
import { PROFILE_FIELD_TYPES, type ProfileField } from '../contract/profile.ts';

/** Profile fields from member records, with their types: the API's list (src/contract/profile.ts), one list. */
export const PROFILE_FIELDS = PROFILE_FIELD_TYPES;
export type { ProfileField };

export function isProfileField(field: string): field is ProfileField {
  // Own keys only: `in` would also accept constructor, toString … from Object's prototype.
  return Object.hasOwn(PROFILE_FIELDS, field);
}

/** Where a member record keeps the field: birthday has a column of its own, the rest are attributes. */
function recorded(field: ProfileField): string {
  return field === 'birthday' ? 'birthday' : `attributes['${field}']`;
}

/** What wins among a person's member records: the latest non-empty value ('' when none has one). */
function latest(field: ProfileField): string {
  const raw = recorded(field);
  return `argMaxIf(${raw}, seen_at, ${raw} != '')`;
}

/** The latest value typed: a number (Float64) or a date (YYYY-MM-DD text), NULL when missing or unreadable. */
function typed(field: ProfileField): string {
  const type = PROFILE_FIELDS[field];
  if (type === 'number') return `toFloat64OrNull(${latest(field)})`;
  if (type === 'date') return `toString(toDateOrNull(substring(${latest(field)}, 1, 10)))`;
  return latest(field);
}

export interface MemberProfileOptions {
  /** The fields to read (default: all), each as a column `pf_<field>`. */
  fields?: readonly string[];
  /** `typed` (default): numbers and dates as above, NULL when missing; `text`: as recorded, '' when missing. */
  values?: 'typed' | 'text';
  /** Only the people in this Array(UInt64) parameter (its name; the caller binds it). */
  peopleParam?: string;
  /** Only member records from the sources in this Array(String) parameter (a team's scope). */
  sourcesParam?: string;
}

/**
 * The member profile as a parenthesised subquery of (person_id, pf_<field>…), one row per person
 * with a member record, bound by {ws:String}. A field that is not a profile field is refused: its
 * name becomes SQL.
 */
export function memberProfile(options: MemberProfileOptions = {}): string {
  const fields = options.fields ?? Object.keys(PROFILE_FIELDS);
  const columns = fields.map((field) => {
    if (!isProfileField(field)) throw new Error(`${field} is not a profile field (${Object.keys(PROFILE_FIELDS).join(', ')})`);
    return `${options.values === 'text' ? latest(field) : typed(field)} AS pf_${field}`;
  });
  const people = options.peopleParam ? ` AND person_id IN {${options.peopleParam}:Array(UInt64)}` : '';
  const sources = options.sourcesParam ? ` AND source IN {${options.sourcesParam}:Array(String)}` : '';
  return `(
  SELECT person_id, ${columns.join(',\n    ')}
  FROM source_records FINAL WHERE workspace_id = {ws:String} AND person_id > 0 AND kind = 'member'${people}${sources} GROUP BY person_id
)`;
}

/** Everyone's whole member profile, typed: what tags and segments read. */
export const PROFILE = memberProfile();
