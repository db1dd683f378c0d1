/**
 * The errors every floor raises, and how a validation problem is named everywhere (HTTP errors, the
 * command line): by its path, as people read it. The app maps each class to its HTTP status.
 */
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

/** Something asked for by key or id does not exist in this workspace (HTTP 404). */
export class NotFoundError extends Error {
  override name = 'NotFoundError';
}

/** The request clashes with what exists (a duplicate key, a state that forbids it) (HTTP 409). */
export class ConflictError extends Error {
  override name = 'ConflictError';
}

/** Every error leaves the API as `{ error: { code, message, details } }`. */
export interface ErrorBody {
  error: { code: string; message: string; details?: unknown };
}

export class ApiError extends Error {
  override name = 'ApiError';
  readonly statusCode: number;
  readonly code: string;
  readonly details?: unknown;
  constructor(statusCode: number, code: string, message: string, details?: unknown) {
    super(message);
    this.statusCode = statusCode;
    this.code = code;
    this.details = details;
  }
}

/** A setting (an environment variable) the server cannot start with; its message names the variable. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}
