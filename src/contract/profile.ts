/**
 * The member profile's fields as the API names them, with their types. A file of its own, without zod,
 * so the console takes the list without bundling every schema.
 */
/** The facts floor's member profile (src/facts/member-profile.ts) reads exactly these. */
export const PROFILE_FIELD_TYPES = {
  gender: 'string',
  level: 'string',
  city: 'string',
  channel: 'string',
  points: 'number',
  registered_at: 'date',
  birthday: 'date',
} as const;
export type ProfileField = keyof typeof PROFILE_FIELD_TYPES;
