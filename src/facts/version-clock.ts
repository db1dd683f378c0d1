/**
 * The version clock of the facts store's ReplacingMergeTree tables: a row with a higher version
 * replaces one with the same key, so every writer (imports, OneID merges) takes its versions here.
 */

let lastVersion = 0;
/** Versions only grow, even for two writes in the same millisecond (microseconds since the epoch, then +1). */
export function nextVersion(): number {
  const candidate = Date.now() * 1000;
  lastVersion = candidate > lastVersion ? candidate : lastVersion + 1;
  return lastVersion;
}
