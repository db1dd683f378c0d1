import { InvalidArgumentError } from 'commander';

/** Whole numbers on the command line; `1_000_000` is accepted for readability. */
export function parseInteger(value: string): number {
  const n = Number(value.replace(/_/g, ''));
  if (!Number.isInteger(n)) throw new InvalidArgumentError(`expected a whole number, got "${value}"`);
  return n;
}
