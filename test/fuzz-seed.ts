/**
 * The seed fuzz tests draw from. CI runs them on a fixed seed, so a failure there is about the change
 * under test and replays exactly; elsewhere every run draws a new seed and explores further. FC_SEED
 * replays a seed fast-check printed. Import this module in every file that uses fast-check.
 */
import fc from 'fast-check';

export const fuzzSeed: number | undefined = process.env.FC_SEED ? Number(process.env.FC_SEED) : process.env.CI ? 192_026 : undefined;

if (fuzzSeed !== undefined) fc.configureGlobal({ ...fc.readConfigureGlobal(), seed: fuzzSeed });
