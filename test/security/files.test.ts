/**
 * The data directory is private: after a server has started on it, taken an upload, written facts
 * and state and served an export, no file or directory under it is readable by group or others, and
 * what an earlier version left open is tightened at start. Exports wait in <data>/tmp, not /tmp.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { callApi, openTestStores, startTestServer, tempDir, workspaceWithKeys } from '../helpers.ts';

/** Every entry under `root` whose mode gives anything to group or others. */
function openEntries(root: string): string[] {
  const open: string[] = [];
  const walk = (entry: string) => {
    const stat = fs.lstatSync(entry);
    if (stat.isSymbolicLink()) return;
    if ((stat.mode & 0o077) !== 0) open.push(`${path.relative(root, entry) || '.'} ${(stat.mode & 0o777).toString(8)}`);
    if (stat.isDirectory()) for (const name of fs.readdirSync(entry)) walk(path.join(entry, name));
  };
  walk(root);
  return open;
}

test('after a start on a fresh data directory, an import and an export, nothing under it is group or world readable', async () => {
  const dataDir = path.join(tempDir(), 'data');
  // What an earlier version (or a careless copy) left open.
  fs.mkdirSync(path.join(dataDir, 'demo'), { recursive: true });
  fs.chmodSync(dataDir, 0o755);
  fs.chmodSync(path.join(dataDir, 'demo'), 0o777);
  fs.writeFileSync(path.join(dataDir, 'demo', 'orders.csv'), 'order_id\n');
  fs.chmodSync(path.join(dataDir, 'demo', 'orders.csv'), 0o666);

  const { stores } = await openTestStores(dataDir);
  const { app, base } = await startTestServer(stores);
  const exportsBefore = fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith('siyu-export-')).length;
  try {
    const { operator } = await workspaceWithKeys(stores, 'files');
    const csv = 'record_id,phone,name\nr1,13800000001,张三\nr2,13800000002,李四\n';
    const posted = await fetch(`${base}/api/v1/imports?kind=records&source=crm&filename=people.csv`, {
      method: 'POST',
      headers: { authorization: `Bearer ${operator}`, 'content-type': 'text/csv' },
      body: csv,
    });
    assert.equal(posted.status, 202);
    const { run } = (await posted.json()) as { run: string };
    for (let i = 0; i < 200; i++) {
      const { json } = await callApi(base, 'GET', `/api/v1/imports/${run}`, operator);
      if (json.status !== 'running') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const exported = await callApi(base, 'GET', '/api/v1/identities/export', operator);
    assert.equal(exported.status, 200);
    assert.match(exported.text, /13800000001/);
    assert.equal(fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith('siyu-export-')).length, exportsBefore, 'no export file in the shared /tmp');
  } finally {
    await app.close();
    await stores.close();
  }
  assert.ok(fs.readdirSync(dataDir).length >= 2, 'the stores wrote into the data directory');
  assert.deepEqual(openEntries(dataDir), []);
  assert.equal(fs.statSync(dataDir).mode & 0o777, 0o700);
});
