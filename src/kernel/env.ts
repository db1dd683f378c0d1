/** Reading settings from the environment, one way everywhere. */
import { ConfigError } from './errors.ts';

/** A non-negative integer setting; the fallback when unset or empty. */
export function intFromEnv(name: string, fallback: number, env: NodeJS.ProcessEnv): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) {
    throw new ConfigError(`${name} must be a non-negative integer, got "${raw}"`);
  }
  return value;
}
