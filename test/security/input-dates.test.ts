/**
 * Every date a request carries (asOf, today, baseDate, a segment's window) is checked at the edge by
 * one schema: a real calendar day YYYY-MM-DD within 1900–2200, else a 400 naming the field (never a
 * store's error as a 500).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { callApi, openTestStores, startTestServer, uniqueSlug } from '../helpers.ts';
import type { Stores } from '../../src/stores/stores.ts';
import { WorkspaceService } from '../../src/access/workspaces.ts';
import { ApiKeyService } from '../../src/access/keys.ts';
import { isCalendarDate } from '../../src/contract/dates.ts';

let stores: Stores;
let app: FastifyInstance;
let base: string;
let admin: string;

before(async () => {
  ({ stores } = await openTestStores());
  const ws = await new WorkspaceService(stores.state).create({ slug: uniqueSlug('dates'), name: 'dates' });
  admin = (await new ApiKeyService(stores.state).create(ws.id, 'ops', 'admin')).token;
  ({ app, base } = await startTestServer(stores));
});
after(async () => {
  await app.close();
  await stores.close();
});

const BAD = ['9999-99-99', '0000-01-01', '2026-02-30', '2026-13-01', '1899-12-31', '2201-01-01', '2026-6-1', '20260601'];

test('isCalendarDate takes real days within 1900–2200 only', () => {
  for (const good of ['2026-06-30', '2024-02-29', '1900-01-01', '2200-12-31']) assert.ok(isCalendarDate(good), good);
  for (const bad of [...BAD, '2025-02-29', '']) assert.ok(!isCalendarDate(bad), bad);
});

test('a bad asOf, today or baseDate is a 400 naming the field, never a 500', async () => {
  const calls: Array<[string, string, string, unknown?]> = [];
  for (const bad of BAD) {
    calls.push(['GET', `/api/v1/people/17/tags?asOf=${bad}`, 'asOf']);
    calls.push(['GET', `/api/v1/tags/er1?asOf=${bad}`, 'asOf']);
    calls.push(['GET', `/api/v1/tags/er1/people/17/explain?asOf=${bad}`, 'asOf']);
    calls.push(['GET', `/api/v1/segments/any/count?today=${bad}`, 'today']);
    calls.push(['POST', '/api/v1/tags/run', 'baseDate', { baseDate: bad }]);
    calls.push(['POST', '/api/v1/segments/count', 'today', { match: 'all', conditions: [], today: bad }]);
  }
  for (const [method, route, field, body] of calls) {
    const response = await callApi(base, method, route, admin, body);
    assert.equal(response.status, 400, `${method} ${route} ${JSON.stringify(body)}: ${response.text}`);
    const issues = (response.json.error.details?.issues ?? [{ path: response.json.error.message.split(':')[0], message: response.json.error.message }]) as Array<{
      path: string;
      message: string;
    }>;
    assert.ok(
      issues.some((i) => i.path.endsWith(`.${field}`) && /a real calendar date/.test(i.message)),
      `${method} ${route}: ${response.text}`,
    );
  }
});
