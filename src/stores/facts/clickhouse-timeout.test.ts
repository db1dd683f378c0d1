import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ClickHouseFactsStore, clickhouseRequestTimeoutMs } from './clickhouse-facts-store.ts';

test('the ClickHouse client waits as long as the longest query may run (an hour by default), or SIYU_CLICKHOUSE_TIMEOUT_MS', () => {
  assert.ok(clickhouseRequestTimeoutMs({}) >= 3600 * 1000, 'tag runs are allowed max_execution_time = 3600');
  assert.equal(clickhouseRequestTimeoutMs({ SIYU_CLICKHOUSE_TIMEOUT_MS: '7200000' }), 7_200_000);
  assert.throws(() => clickhouseRequestTimeoutMs({ SIYU_CLICKHOUSE_TIMEOUT_MS: 'soon' }), /^Error: SIYU_CLICKHOUSE_TIMEOUT_MS: expected whole milliseconds/);
  assert.throws(() => clickhouseRequestTimeoutMs({ SIYU_CLICKHOUSE_TIMEOUT_MS: '5' }), /SIYU_CLICKHOUSE_TIMEOUT_MS/);
});

test('queries to a ClickHouse server are held to the configured timeout (a slow answer within it arrives, one past it fails)', async () => {
  // A stand-in server over HTTP: DDL at once, every query answered after 1.5 s.
  const server = http.createServer((request, reply) => {
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      const query = `${new URL(request.url ?? '/', 'http://x').searchParams.get('query') ?? ''}${body}`;
      if (/CREATE DATABASE/.test(query)) return reply.end();
      setTimeout(() => reply.writeHead(200, { 'content-type': 'application/x-ndjson' }).end('{"ok":1}\n'), 1500).unref();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const patient = await ClickHouseFactsStore.connect({ url, database: 'siyu', requestTimeoutMs: 10_000 });
  const hasty = await ClickHouseFactsStore.connect({ url, database: 'siyu', requestTimeoutMs: 1000 });
  const previous = process.env.SIYU_CLICKHOUSE_TIMEOUT_MS;
  process.env.SIYU_CLICKHOUSE_TIMEOUT_MS = '1000';
  const fromEnvironment = await ClickHouseFactsStore.connect({ url, database: 'siyu' });
  if (previous === undefined) delete process.env.SIYU_CLICKHOUSE_TIMEOUT_MS;
  else process.env.SIYU_CLICKHOUSE_TIMEOUT_MS = previous;
  try {
    assert.deepEqual(await patient.query('SELECT 1 AS ok'), [{ ok: 1 }]);
    await assert.rejects(hasty.query('SELECT 1 AS ok'), /timeout/i);
    await assert.rejects(fromEnvironment.query('SELECT 1 AS ok'), /timeout/i, 'SIYU_CLICKHOUSE_TIMEOUT_MS is read when the store opens');
  } finally {
    await Promise.all([patient.close(), hasty.close(), fromEnvironment.close()]);
    server.closeAllConnections();
    server.close();
  }
});
