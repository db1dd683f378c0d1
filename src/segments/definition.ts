/** Walking a segment tree (its schema is the API's: src/contract/segments.ts). */
import type { Condition } from '../contract/segments.ts';

/** Every node of a tree, depth first. */
export function* nodes(conditions: Condition[]): Generator<Condition> {
  for (const c of conditions) {
    yield c;
    if (c.type === 'group') yield* nodes(c.conditions);
    if (c.type === 'not') yield* nodes([c.condition]);
  }
}

/** The segments a tree reads. */
export function segmentReferences(conditions: Condition[]): string[] {
  return [...new Set([...nodes(conditions)].flatMap((c) => (c.type === 'segment' ? [c.segment] : [])))];
}
