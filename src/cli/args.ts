import fs from 'node:fs';
import { InvalidArgumentError } from 'commander';

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
