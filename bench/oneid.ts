/**
 * bench/oneid: OneID resolution over N identifier edges, then an incremental attach of new records.
 * Each person has two records: with --per-person 2 (the default: 10M edges, 5M people) a mini-program
 * and a JD record that share a phone; with --per-person 4 (N/4 people) each record also has its own
 * unionid or JD pin.
 *   npm run bench -- oneid [--edges 10000000] [--per-person 2|4] [--incremental 100000]
 * Records are written straight into the facts store with SQL so the benchmark times resolution only.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../src/config/config.ts';
import { openStores } from '../src/stores/stores.ts';
import { WorkspaceService } from '../src/access/workspaces.ts';
import { resolveIdentities } from '../src/identity/resolve.ts';
import { machine, option, peakRssMiB, printTable, timed } from './common.ts';

export async function run(args: string[]): Promise<void> {
  const edges = Number(option(args, 'edges', '10000000').replace(/_/g, ''));
  const incremental = Number(option(args, 'incremental', '100000').replace(/_/g, ''));
  const perPerson = Number(option(args, 'per-person', '2'));
  if (perPerson !== 2 && perPerson !== 4) throw new Error('--per-person is 2 or 4');
  const people = Math.floor(edges / perPerson);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'siyu-bench-oneid-'));
  const stores = await openStores(loadConfig({ dataDir }));
  console.log(`bench/oneid on ${machine()}: ${edges.toLocaleString('en-US')} edges, ${people.toLocaleString('en-US')} people`);
  try {
    const ws = await new WorkspaceService(stores.state).create({ slug: 'bench', name: 'bench' });
    // Each person: a mini-program record and a JD record sharing a phone (2 edges), each with its own
    // unionid or JD pin too (4 edges).
    const phone = `('phone', concat('+86', toString(13000000000 + p)))`;
    await stores.facts.command(
      `INSERT INTO source_records (workspace_id, source, kind, record_id, person_id, identifiers, seen_at, row_hash, version)
       SELECT {ws:String}, if(r = 0, 'miniprogram', 'jd'), 'order', concat(if(r = 0, 'm', 'j'), toString(p)), 0,
              ${perPerson === 2 ? `[${phone}]` : `if(r = 0, [('unionid', concat('oU', toString(p))), ${phone}], [('jd_pin', concat('jd_', toString(p))), ${phone}])`},
              now64(3), p * 2 + r, 1
       FROM (SELECT number AS p FROM numbers({people:UInt64})) ARRAY JOIN [0, 1] AS r`,
      { ws: ws.id, people },
    );
    const full = await timed(() => resolveIdentities(stores, { workspaceId: ws.id, full: true }));
    const fullRss = peakRssMiB();
    await stores.facts.command(
      `INSERT INTO source_records (workspace_id, source, kind, record_id, person_id, identifiers, seen_at, row_hash, version)
       SELECT {ws:String}, 'store', 'order', concat('s', toString(number)), 0,
              [('phone', concat('+86', toString(13000000000 + (number * 7919) % {people:UInt64}))), ('member_no', concat('M', toString(number)))],
              now64(3), number, 2
       FROM numbers({n:UInt64})`,
      { ws: ws.id, people, n: incremental },
    );
    const inc = await timed(() => resolveIdentities(stores, { workspaceId: ws.id }));
    const results = {
      edges,
      records: full.value.records,
      people: full.value.people,
      full_resolve_s: Math.round(full.seconds * 10) / 10,
      full_peak_rss_mib: fullRss,
      incremental_records: incremental,
      incremental_touched_records: inc.value.records,
      incremental_s: Math.round(inc.seconds * 10) / 10,
      incremental_new_people: inc.value.newPeople,
      peak_rss_mib: peakRssMiB(),
    };
    printTable([
      { step: `full resolve, ${edges.toLocaleString('en-US')} edges`, records: results.records, people: results.people, s: results.full_resolve_s, 'peak RSS MiB': fullRss },
      {
        step: `attach ${incremental.toLocaleString('en-US')} new records`,
        records: results.incremental_touched_records,
        people: inc.value.people,
        s: results.incremental_s,
        'peak RSS MiB': results.peak_rss_mib,
      },
    ]);
    console.log(`\nfull run steps (s): ${JSON.stringify(full.value.steps)}`);
    console.log(`incremental run steps (s): ${JSON.stringify(inc.value.steps)}`);
    console.log(JSON.stringify({ benchmark: 'oneid', machine: machine(), results }));
  } finally {
    await stores.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}
