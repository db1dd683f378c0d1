/**
 * Probabilistic matching (Fellegi–Sunter) for records that share no strong identifier: a Tmall order
 * with a masked phone and the same buyer's JD order, a FEBRL record whose id has a typo.
 *
 * Blocking keeps comparisons few; each candidate pair gets a comparison pattern over name, phone
 * pattern, address, birthday and near-equal identifiers; m and u probabilities per level are
 * estimated by EM over the patterns; a pair's match probability decides: merge above a conservative
 * threshold, review in a band below it.
 */

export interface FuzzyRecord {
  name: string;
  maskedPhone: string;
  address: string;
  birthday: string;
  identifiers: ReadonlyArray<{ type: string; value: string }>;
}

export interface FuzzyOptions {
  /** Merge when the match probability is at least this (default 0.99). */
  mergeAt: number;
  /** Queue for review when at least this and below mergeAt (default 0.8). */
  reviewAt: number;
  /** Blocks larger than this are skipped: a common key says nothing (default 40). */
  maxBlock: number;
}

export const DEFAULT_FUZZY: FuzzyOptions = { mergeAt: 0.99, reviewAt: 0.8, maxBlock: 40 };

export interface Candidate {
  a: number;
  b: number;
  probability: number;
  pattern: number[];
}

const FIELDS = ['name', 'phone', 'address', 'birthday', 'id'] as const;
/** Levels per field: 0 = missing, then from strongest agreement to disagreement. */
const LEVELS = [4, 3, 4, 3, 3];

/** Jaro–Winkler similarity in [0, 1]. */
export function jaroWinkler(a: string, b: string): number {
  if (a === b) return a.length === 0 ? 0 : 1;
  const la = a.length;
  const lb = b.length;
  if (la === 0 || lb === 0) return 0;
  const window = Math.max(0, Math.floor(Math.max(la, lb) / 2) - 1);
  const matchedA = new Array<boolean>(la).fill(false);
  const matchedB = new Array<boolean>(lb).fill(false);
  let matches = 0;
  for (let i = 0; i < la; i++) {
    const from = Math.max(0, i - window);
    const to = Math.min(lb - 1, i + window);
    for (let j = from; j <= to; j++) {
      if (matchedB[j] || a[i] !== b[j]) continue;
      matchedA[i] = matchedB[j] = true;
      matches++;
      break;
    }
  }
  if (matches === 0) return 0;
  let transpositions = 0;
  let k = 0;
  for (let i = 0; i < la; i++) {
    if (!matchedA[i]) continue;
    while (!matchedB[k]) k++;
    if (a[i] !== b[k]) transpositions++;
    k++;
  }
  const jaro = (matches / la + matches / lb + (matches - transpositions / 2) / matches) / 3;
  let prefix = 0;
  while (prefix < Math.min(4, la, lb) && a[prefix] === b[prefix]) prefix++;
  return jaro + prefix * 0.1 * (1 - jaro);
}

function bigrams(text: string): Set<string> {
  const compact = text.replace(/\s+/g, '').toLowerCase();
  const grams = new Set<string>();
  for (let i = 0; i < compact.length - 1; i++) grams.add(compact.slice(i, i + 2));
  return grams;
}

function jaccard(a: Set<string>, b: Set<string>): number {
  if (a.size === 0 || b.size === 0) return 0;
  let both = 0;
  for (const g of a) if (b.has(g)) both++;
  return both / (a.size + b.size - both);
}

/** Within one edit (substitution, insertion, deletion or adjacent swap). */
function withinOneEdit(a: string, b: string): boolean {
  if (a === b) return true;
  if (Math.abs(a.length - b.length) > 1) return false;
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  if (a.length === b.length) {
    if (a.slice(i + 1) === b.slice(i + 1)) return true;
    return a[i] === b[i + 1] && a[i + 1] === b[i] && a.slice(i + 2) === b.slice(i + 2);
  }
  return a.length > b.length ? a.slice(i + 1) === b.slice(i) : a.slice(i) === b.slice(i + 1);
}

/**
 * Close spellings: Jaro–Winkler for alphabetic names; for short names (Chinese names are two to four
 * characters) one character typed with the wrong homophone, as a pinyin keyboard does.
 */
function similarNames(a: string, b: string): boolean {
  if (jaroWinkler(a, b) >= 0.88) return true;
  if (a.length !== b.length || a.length < 2 || a.length > 4) return false;
  let differences = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) differences++;
  return differences === 1 && a[0] === b[0];
}

/** "138****5678" for a masked phone, and the same pattern of each full phone. */
function phonePatterns(r: FuzzyRecord): string[] {
  const patterns: string[] = [];
  if (r.maskedPhone) patterns.push(r.maskedPhone.slice(0, 3) + r.maskedPhone.slice(-4));
  for (const id of r.identifiers) if (id.type === 'phone') patterns.push(id.value.slice(3, 6) + id.value.slice(-4));
  return patterns;
}

interface Prepared {
  name: string;
  phones: string[];
  address: Set<string>;
  birthday: string;
  ids: Map<string, string[]>;
}

function prepare(r: FuzzyRecord): Prepared {
  const ids = new Map<string, string[]>();
  for (const id of r.identifiers) {
    if (id.type === 'phone' || id.type.startsWith('__')) continue;
    if (!ids.has(id.type)) ids.set(id.type, []);
    ids.get(id.type)!.push(id.value);
  }
  return { name: r.name.replace(/\s+/g, '').toLowerCase(), phones: phonePatterns(r), address: bigrams(r.address), birthday: r.birthday, ids };
}

function compare(a: Prepared, b: Prepared): number[] {
  const name = !a.name || !b.name ? 0 : a.name === b.name ? 1 : similarNames(a.name, b.name) ? 2 : 3;
  const phone = a.phones.length === 0 || b.phones.length === 0 ? 0 : a.phones.some((p) => b.phones.includes(p)) ? 1 : 2;
  const similarity = a.address.size === 0 || b.address.size === 0 ? -1 : jaccard(a.address, b.address);
  const address = similarity < 0 ? 0 : similarity >= 0.85 ? 1 : similarity >= 0.5 ? 2 : 3;
  const birthday = !a.birthday || !b.birthday ? 0 : a.birthday === b.birthday ? 1 : 2;
  let id = 0;
  for (const [type, values] of a.ids) {
    const other = b.ids.get(type);
    if (!other) continue;
    id = 2;
    if (values.some((v) => other.some((w) => v.length >= 5 && withinOneEdit(v, w)))) {
      id = 1;
      break;
    }
  }
  return [name, phone, address, birthday, id];
}

/** Candidate pairs from blocks: phone pattern, name, birthday, and each identifier's first characters. */
function candidatePairs(prepared: Prepared[], maxBlock: number): Array<[number, number]> {
  const blocks = new Map<string, number[]>();
  const add = (key: string, i: number) => {
    const list = blocks.get(key);
    if (list) list.push(i);
    else blocks.set(key, [i]);
  };
  prepared.forEach((p, i) => {
    for (const phone of new Set(p.phones)) add(`p:${phone}`, i);
    if (p.name) add(`n:${p.name}`, i);
    if (p.birthday && p.name) add(`b:${p.birthday}:${p.name.slice(0, 1)}`, i);
    for (const [type, values] of p.ids) for (const v of values) if (v.length >= 5) add(`i:${type}:${v.slice(0, Math.ceil(v.length / 2))}`, i);
  });
  const seen = new Set<string>();
  const pairs: Array<[number, number]> = [];
  for (const members of blocks.values()) {
    if (members.length < 2 || members.length > maxBlock) continue;
    for (let x = 0; x < members.length; x++) {
      for (let y = x + 1; y < members.length; y++) {
        const a = Math.min(members[x], members[y]);
        const b = Math.max(members[x], members[y]);
        const key = `${a},${b}`;
        if (seen.has(key)) continue;
        seen.add(key);
        pairs.push([a, b]);
      }
    }
  }
  return pairs;
}

export interface FuzzyModel {
  prior: number;
  m: number[][];
  u: number[][];
  pairs: number;
  iterations: number;
}

/** EM over comparison patterns (conditional independence between fields). */
function estimate(patterns: Map<string, { pattern: number[]; count: number }>, iterations = 40): FuzzyModel {
  // Start from what agreement usually means: likely among matches, rare among non-matches.
  const m: number[][] = LEVELS.map((n) => Array.from({ length: n }, (_, level) => (level === 0 ? 1 : level === 1 ? 0.85 : level === n - 1 ? 0.05 : 0.1)));
  const u: number[][] = LEVELS.map((n) => Array.from({ length: n }, (_, level) => (level === 0 ? 1 : level === 1 ? 0.02 : level === n - 1 ? 0.9 : 0.08)));
  let prior = 0.1;
  const entries = [...patterns.values()];
  const total = entries.reduce((s, e) => s + e.count, 0);
  let done = 0;
  for (; done < iterations && total > 0; done++) {
    const mAcc = LEVELS.map((n) => new Array<number>(n).fill(1e-6));
    const uAcc = LEVELS.map((n) => new Array<number>(n).fill(1e-6));
    let matchMass = 0;
    for (const { pattern, count } of entries) {
      let pm = prior;
      let pu = 1 - prior;
      pattern.forEach((level, f) => {
        if (level === 0) return;
        pm *= m[f][level];
        pu *= u[f][level];
      });
      const g = pm / (pm + pu);
      matchMass += g * count;
      pattern.forEach((level, f) => {
        if (level === 0) return;
        mAcc[f][level] += g * count;
        uAcc[f][level] += (1 - g) * count;
      });
    }
    prior = Math.min(0.5, Math.max(1e-4, matchMass / total));
    for (let f = 0; f < LEVELS.length; f++) {
      const mSum = mAcc[f].slice(1).reduce((a, b) => a + b, 0);
      const uSum = uAcc[f].slice(1).reduce((a, b) => a + b, 0);
      for (let level = 1; level < LEVELS[f]; level++) {
        m[f][level] = mAcc[f][level] / mSum;
        u[f][level] = uAcc[f][level] / uSum;
      }
    }
  }
  return { prior, m, u, pairs: total, iterations: done };
}

function probability(model: FuzzyModel, pattern: number[]): number {
  let logOdds = Math.log(model.prior / (1 - model.prior));
  pattern.forEach((level, f) => {
    if (level === 0) return;
    logOdds += Math.log(model.m[f][level] / model.u[f][level]);
  });
  return 1 / (1 + Math.exp(-logOdds));
}

/**
 * Scores the candidate pairs of records not already in one person. `sameAlready` tells whether
 * deterministic linking has joined them. Returns pairs at or above the review threshold, best first.
 */
export function fuzzyCandidates(
  records: ReadonlyArray<FuzzyRecord>,
  sameAlready: (a: number, b: number) => boolean,
  options: FuzzyOptions = DEFAULT_FUZZY,
): { candidates: Candidate[]; model: FuzzyModel } {
  const prepared = records.map(prepare);
  const pairs = candidatePairs(prepared, options.maxBlock).filter(([a, b]) => !sameAlready(a, b));
  const compared = pairs.map(([a, b]) => ({ a, b, pattern: compare(prepared[a], prepared[b]) }));
  const patterns = new Map<string, { pattern: number[]; count: number }>();
  for (const c of compared) {
    const key = c.pattern.join('');
    const entry = patterns.get(key);
    if (entry) entry.count++;
    else patterns.set(key, { pattern: c.pattern, count: 1 });
  }
  const model = estimate(patterns);
  const candidates: Candidate[] = [];
  for (const c of compared) {
    // Never on one weak field alone: at least two fields must agree.
    const agreeing =
      c.pattern.filter((level) => level === 1).length + c.pattern.filter((level, f) => level === 2 && (FIELDS[f] === 'name' || FIELDS[f] === 'address')).length * 0.5;
    if (agreeing < 2) continue;
    // Clearly different names at one phone and address are a household, not one person.
    if (c.pattern[0] === 3) continue;
    const p = probability(model, c.pattern);
    if (p >= options.reviewAt) candidates.push({ ...c, probability: p });
  }
  candidates.sort((x, y) => y.probability - x.probability);
  return { candidates, model };
}
