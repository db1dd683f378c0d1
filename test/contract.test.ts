/**
 * The API contract: every /api/ route declares the schema of its answer (the server serialises and
 * checks responses with it, OpenAPI documents it, the console takes its types from src/contract/), and
 * src/contract/ stays node-free so the console's build can bundle it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import type { RouteOptions } from 'fastify';
import { openTestStores, ROOT } from './helpers.ts';
import { buildServer } from '../src/app/server.ts';

/** Routes that answer with a file or a stream rather than one JSON body, each with why. */
const WITHOUT_RESPONSE_SCHEMA: Record<string, string> = {
  'GET /api/v1/identities/export': 'a CSV file streamed from disk',
  'GET /api/v1/records/export': 'a CSV file streamed from disk',
  'GET /api/v1/segments/:key/export': 'a CSV streamed as the rows come (hijacked reply)',
};

test('every /api/ route declares a response schema for its success status', async () => {
  const { stores } = await openTestStores();
  const routes: string[] = [];
  const missing: string[] = [];
  const app = await buildServer({
    config: { logLevel: 'error' },
    stores,
    logger: false,
    onRoute: (route: RouteOptions) => {
      const methods = (Array.isArray(route.method) ? route.method : [route.method]).filter((m) => m !== 'HEAD');
      if (!route.url.startsWith('/api/') || methods.length === 0) return;
      for (const method of methods) {
        const name = `${method} ${route.url}`;
        routes.push(name);
        const response = (route.schema?.response ?? {}) as Record<string, unknown>;
        const success = Object.keys(response).some((status) => /^2(\d\d|XX)$/.test(status));
        if (!success && !(name in WITHOUT_RESPONSE_SCHEMA)) missing.push(name);
      }
    },
  });
  try {
    await app.ready();
    assert.ok(routes.length > 50, `the hook saw the routes (${routes.length})`);
    const stale = Object.keys(WITHOUT_RESPONSE_SCHEMA).filter((name) => !routes.includes(name));
    assert.deepEqual(stale, [], 'every listed exception is a route that exists');
    assert.deepEqual(missing.sort(), [], `${missing.length} of ${routes.length} /api/ routes have no response schema`);
  } finally {
    await app.close();
    await stores.close();
  }
});

test('src/contract/ imports only zod and other contract files (the console bundles it)', () => {
  const contractDir = path.join(ROOT, 'src', 'contract');
  const files = fs.readdirSync(contractDir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
  assert.ok(files.length > 0);
  const offending: string[] = [];
  for (const file of files) {
    const full = path.join(contractDir, file);
    const { importedFiles } = ts.preProcessFile(fs.readFileSync(full, 'utf8'), true, true);
    for (const { fileName: specifier } of importedFiles) {
      if (specifier === 'zod' || specifier.startsWith('zod/')) continue;
      const inside = specifier.startsWith('.') && path.resolve(path.dirname(full), specifier).startsWith(contractDir + path.sep);
      if (!inside) offending.push(`src/contract/${file} imports ${specifier}`);
    }
  }
  assert.deepEqual(offending, []);
});
