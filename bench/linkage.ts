/**
 * bench/linkage: pairwise precision, recall and F1 of OneID against ground truth — the FEBRL data
 * sets (dataset1–3 deduplication, 4a×4b linkage; social-security id as a declared identifier) and
 * the demo brand: all records; the records that share a strong identifier with another record of
 * their true person; and the deterministic truth, where recall counts the pairs of a person's records
 * that a chain of shared identifier values joins (what deterministic linking can reach) and precision
 * is against the true person.
 *   npm run bench -- linkage [--people 20000]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../src/config/config.ts';
import { openStores, type Stores } from '../src/stores/stores.ts';
import { WorkspaceService, type Workspace } from '../src/access/workspaces.ts';
import { runImport } from '../src/ingest/importer.ts';
import { declareIdentifierType } from '../src/identity/identifier-store.ts';
import { resolveIdentities } from '../src/identity/resolve.ts';
import { generateDemoBrand } from '../src/demo/demo-brand.ts';
import { loadDemoBrand } from '../src/demo/load.ts';
import { machine, option, printTable, timed } from './common.ts';

const FEBRL = path.resolve('..', 'shared', 'data', 'febrl');

export interface PairScore {
  records: number;
  precision: number;
  recall: number;
  f1: number;
}

/**
 * Pairwise scores from (predicted cluster, true cluster) per record. With `linkable` (a refinement of
 * the true clusters), recall counts only the pairs of the same linkable cluster; precision is always
 * against the true clusters.
 */
export function pairwise(assignments: Array<{ predicted: string; truth: string; linkable?: string }>): PairScore {
  const count = (key: (a: (typeof assignments)[number]) => string) => {
    const counts = new Map<string, number>();
    for (const a of assignments) counts.set(key(a), (counts.get(key(a)) ?? 0) + 1);
    return counts;
  };
  const pairs = (n: number) => (n * (n - 1)) / 2;
  const sumPairs = (counts: Map<string, number>) => [...counts.values()].reduce((sum, n) => sum + pairs(n), 0);
  const recallTruth = (a: (typeof assignments)[number]) => a.linkable ?? a.truth;
  const pp = sumPairs(count((a) => a.predicted));
  const precisionHits = sumPairs(count((a) => `${a.predicted}\u0000${a.truth}`));
  const recallHits = sumPairs(count((a) => `${a.predicted}\u0000${recallTruth(a)}`));
  const tt = sumPairs(count(recallTruth));
  const precision = pp === 0 ? 1 : precisionHits / pp;
  const recall = tt === 0 ? 1 : recallHits / tt;
  const round = (x: number) => Math.round(x * 10000) / 10000;
  return {
    records: assignments.length,
    precision: round(precision),
    recall: round(recall),
    f1: round(precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall)),
  };
}

async function recordPersons(stores: Stores, ws: Workspace) {
  return stores.facts.query<{ source: string; record_id: string; person_id: string; identifiers: Array<{ type: string; value: string }> }>(
    // Tracked events count as records of their own, with their identity record's identifiers.
    `SELECT source, record_id, person_id, identifiers FROM source_records FINAL WHERE workspace_id = {ws:String} AND kind != 'identity'
     UNION ALL
     SELECT e.source, e.message_id, e.person_id, i.identifiers
     FROM (SELECT source, message_id, person_id, identity_key FROM events FINAL WHERE workspace_id = {ws:String}) AS e
     INNER JOIN (SELECT record_id, identifiers FROM source_records FINAL WHERE workspace_id = {ws:String} AND kind = 'identity') AS i
     ON e.identity_key = i.record_id`,
    { ws: ws.id },
  );
}

async function febrl(stores: Stores, name: string, files: string[]): Promise<{ probabilistic: PairScore; deterministic: PairScore; seconds: number }> {
  const ws = await new WorkspaceService(stores.state).create({ slug: `febrl-${name.replace(/\W/g, '').toLowerCase()}`, name });
  await declareIdentifierType(stores.state, ws.id, {
    name: 'soc_sec_id',
    label: 'Social security id',
    priority: 50,
    singleValued: false,
    maxPeoplePerValue: 1,
    normaliser: 'trim',
    strong: true,
  });
  const mapping = {
    columns: {
      record_id: 'rec_id',
      name: ['given_name', 'surname'],
      address: ['street_number', 'address_1', 'address_2', 'suburb', 'postcode', 'state'],
      birthday: 'date_of_birth',
      soc_sec_id: 'soc_sec_id',
    },
  };
  const { seconds } = await timed(async () => {
    for (const [i, file] of files.entries()) {
      await runImport(stores, { workspace: ws, kind: 'records', source: `febrl${i}`, mapping: { ...mapping, source: `febrl${i}` }, files: [path.join(FEBRL, file)] });
    }
  });
  return { ...(await scoreBoth(stores, ws, (r) => /^rec-(\d+)/.exec(r.record_id)![1])), seconds };
}

/** Scores the workspace as resolved (with probabilistic matching), then re-resolved without it. */
async function scoreBoth(stores: Stores, ws: Workspace, truthOf: (r: { source: string; record_id: string }) => string) {
  const score = async () => pairwise((await recordPersons(stores, ws)).map((r) => ({ predicted: r.person_id, truth: truthOf(r) })));
  await resolveIdentities(stores, { workspaceId: ws.id, full: true });
  const probabilistic = await score();
  await resolveIdentities(stores, { workspaceId: ws.id, full: true, fuzzy: false });
  const deterministic = await score();
  return { probabilistic, deterministic };
}

export async function run(args: string[]): Promise<void> {
  const people = Number(option(args, 'people', '20000').replace(/_/g, ''));
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'siyu-bench-linkage-'));
  const stores = await openStores(loadConfig({ dataDir }));
  console.log(`bench/linkage on ${machine()} (each data set with deterministic OneID, then with probabilistic matching added)`);
  const results: Array<Record<string, string | number>> = [];
  try {
    for (const [name, files] of [
      ['FEBRL dataset1', ['dataset1.csv']],
      ['FEBRL dataset2', ['dataset2.csv']],
      ['FEBRL dataset3', ['dataset3.csv']],
      ['FEBRL 4a×4b', ['dataset4a.csv', 'dataset4b.csv']],
    ] as const) {
      const score = await febrl(stores, name, [...files]);
      results.push({ data: name, matching: 'deterministic', ...score.deterministic, seconds: score.seconds });
      results.push({ data: name, matching: '+ probabilistic', ...score.probabilistic, seconds: score.seconds });
    }

    const demoDir = path.join(dataDir, 'demo');
    await generateDemoBrand({ people, seed: 7, endDate: '2026-10-31', out: demoDir });
    const ws = await new WorkspaceService(stores.state).create({ slug: 'demo-linkage', name: 'demo' });
    const { seconds } = await timed(() => loadDemoBrand(stores, ws, demoDir));
    const truth = new Map<string, string>();
    for (const line of fs.readFileSync(path.join(demoDir, 'truth.csv'), 'utf8').split('\n').slice(1)) {
      const [source, , recordId, person] = line.split(',');
      if (person) truth.set(`${source}\u0000${recordId}`, person);
    }
    const truthOf = (r: { source: string; record_id: string }) => truth.get(`${r.source}\u0000${r.record_id}`)!;
    await resolveIdentities(stores, { workspaceId: ws.id, full: true });
    const withFuzzy = (await recordPersons(stores, ws)).map((r) => ({ predicted: r.person_id, truth: truthOf(r), ids: r.identifiers }));
    await resolveIdentities(stores, { workspaceId: ws.id, full: true, fuzzy: false });
    const rows = await recordPersons(stores, ws);
    const all = rows.map((r) => ({ predicted: r.person_id, truth: truthOf(r), ids: r.identifiers }));
    results.push({ data: `demo brand, ${people.toLocaleString('en-US')} people: all records`, matching: 'deterministic', ...pairwise(all), seconds });
    results.push({ data: `demo brand, ${people.toLocaleString('en-US')} people: all records`, matching: '+ probabilistic', ...pairwise(withFuzzy), seconds });
    // Records that share a strong identifier value with another record of their true person (or are
    // its only record): the ones deterministic linking can reach.
    const byPerson = new Map<string, typeof all>();
    for (const r of all) {
      if (!byPerson.has(r.truth)) byPerson.set(r.truth, []);
      byPerson.get(r.truth)!.push(r);
    }
    const reachable = all.filter((r) => {
      const mates = byPerson.get(r.truth)!;
      if (mates.length === 1) return true;
      const mine = new Set(r.ids.map((i) => `${i.type}=${i.value}`));
      return mates.some((m) => m !== r && m.ids.some((i) => mine.has(`${i.type}=${i.value}`)));
    });
    results.push({ data: `demo brand: records with a shared strong identifier`, matching: 'deterministic', ...pairwise(reachable), seconds });
    // The deterministic truth: a person's records joined by the identifier values they share (a chain
    // of shared values links them; records of one person with no chain between them are not
    // deterministically linkable). Recall counts those pairs; precision is against the true person.
    const parent = all.map((_, i) => i);
    const find = (x: number): number => {
      while (parent[x] !== x) x = parent[x] = parent[parent[x]];
      return x;
    };
    const firstWith = new Map<string, number>();
    all.forEach((r, i) => {
      for (const id of r.ids) {
        const key = `${r.truth}\u0000${id.type}\u0000${id.value}`;
        const j = firstWith.get(key);
        if (j === undefined) firstWith.set(key, i);
        else parent[find(i)] = find(j);
      }
    });
    const linked = all.map((r, i) => ({ ...r, linkable: String(find(i)) }));
    results.push({ data: `demo brand: pairs joined by shared identifiers`, matching: 'deterministic', ...pairwise(linked), seconds });
  } finally {
    await stores.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
  printTable(results.map((r) => ({ data: r.data, matching: r.matching, records: r.records, precision: r.precision, recall: r.recall, F1: r.f1, s: r.seconds })));
  console.log(JSON.stringify({ benchmark: 'linkage', machine: machine(), results }));
}
