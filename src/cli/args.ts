import fs from 'node:fs';
import { InvalidArgumentError } from 'commander';
import { ZodError } from 'zod';
import { describeZodError } from '../kernel/errors.ts';

/** Whole numbers on the command line; `1_000_000` is accepted for readability. */
export function parseInteger(value: string): number {
  const n = Number(value.replace(/_/g, ''));
  if (!Number.isInteger(n)) throw new InvalidArgumentError(`expected a whole number, got "${value}"`);
  return n;
}

/** A JSON file given on the command line, with an error naming the file. */
export function readJson(file: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    throw new Error(`${file}: no such file`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new Error(`${file}: not valid JSON (${(error as Error).message})`);
  }
}

/**
 * Each definition in a JSON file (one object or a list), in order. A failure names the file, the
 * definition's place in the list and, for a validation error, the field.
 */
export async function eachDefinition(file: string, fn: (definition: unknown) => Promise<void>): Promise<void> {
  const input = readJson(file);
  const list = Array.isArray(input) ? input : [input];
  for (const [i, definition] of list.entries()) {
    try {
      await fn(definition);
    } catch (error) {
      const message = error instanceof ZodError ? describeZodError(error, 'definition') : (error as Error).message;
      throw new Error(`${file}${list.length > 1 ? ` [${i}]` : ''}: ${message}`, { cause: error });
    }
  }
}
