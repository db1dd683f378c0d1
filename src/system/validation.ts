/** How a validation problem is named everywhere (HTTP errors, the command line): by its path, as people read it. */
import type { ZodError } from 'zod';

/** ["conditions", 2, "window", "days"] → "conditions[2].window.days" */
export function issuePath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const part of path) out += typeof part === 'number' ? `[${part}]` : out ? `.${String(part)}` : String(part);
  return out;
}

/** Every issue of a validation error on one line: "conditions[2].window.days: must be a positive integer; …". */
export function describeZodError(error: ZodError, root = 'input'): string {
  return error.issues.map((issue) => `${issuePath(issue.path) || root}: ${issue.message}`).join('; ');
}

/**
 * A request that cannot be carried out as asked, for a reason its own message states (a template
 * that reads an unknown field, a channel whose secret is not set). The API answers 400 with it.
 */
export class InputError extends Error {
  override name = 'InputError';
}
