import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { openTestStores, uniqueSlug } from '../../test/helpers.ts';
import type { Stores } from '../stores/stores.ts';
import { WorkspaceService, type Workspace } from '../access/workspaces.ts';
import { dateInZone } from '../kernel/time.ts';
import { saveTag } from './store.ts';
import { getSchedule, removeSchedule, runDueSchedules, setSchedule, startScheduler } from './schedule.ts';

let stores: Stores;
let ws: Workspace;
/** Workspaces this file scheduled: their schedules are removed at the end (CI's PostgreSQL is shared by the suite). */
const scheduled: string[] = [];

const TAGS = [
  { key: 'orders_all', name: { zh: '订单数', en: 'Orders' }, kind: 'statistic', of: 'purchases', measure: 'count' },
  { key: 'spend_all', name: { zh: '累计消费', en: 'Total spend' }, kind: 'statistic', of: 'purchases', measure: 'sum', field: 'amount' },
];

before(async () => {
  ({ stores } = await openTestStores());
  ws = await new WorkspaceService(stores.state).create({ slug: uniqueSlug('tag-schedule'), name: 'schedule' });
  for (const tag of TAGS) await saveTag(stores, ws.id, tag);
  scheduled.push(ws.id);
});
after(async () => {
  for (const id of scheduled) await removeSchedule(stores, id);
  await stores.close();
});

/** The scheduled runs of a workspace's tags: [tag, base date], in tag order. */
async function scheduledRuns(workspaceId: string, baseDate?: string): Promise<Array<[string, string]>> {
  let query = stores.state.db
    .selectFrom('tag_runs')
    .select(['tag_key', sql<string>`to_char(base_date, 'YYYY-MM-DD')`.as('base')])
    .where('workspace_id', '=', workspaceId)
    .where('trigger', '=', 'schedule');
  if (baseDate) query = query.where('base_date', '=', baseDate);
  const rows = await query.orderBy('tag_key').orderBy('base_date').execute();
  return rows.map((r) => [r.tag_key, r.base]);
}

test('a daily schedule at 03:00 Asia/Shanghai is due at 19:00 UTC and runs every tag once, for yesterday in the zone', async () => {
  const schedule = await setSchedule(stores, ws.id, 'daily', new Date('2026-06-30T10:00:00Z'));
  assert.equal(schedule.cron, '0 3 * * *');
  assert.equal(schedule.timeZone, 'Asia/Shanghai');
  assert.equal(schedule.nextAt, '2026-06-30T19:00:00.000Z');
  assert.equal(schedule.lastStartedAt, null);
  assert.deepEqual(await getSchedule(stores, ws.id), schedule);

  assert.deepEqual(await runDueSchedules(stores, new Date('2026-06-30T18:59:59Z')), [], 'not due yet');
  assert.deepEqual(await scheduledRuns(ws.id), []);

  // 03:00 on 07-01 in Beijing: the base date is 06-30.
  const ran = (await runDueSchedules(stores, new Date('2026-06-30T19:00:00Z'))).filter((r) => r.workspaceId === ws.id);
  assert.equal(ran.length, 1);
  assert.equal(ran[0].baseDate, '2026-06-30');
  assert.equal(ran[0].slot, '2026-06-30T19:00:00.000Z');
  assert.equal(ran[0].nextAt, '2026-07-01T19:00:00.000Z');
  assert.deepEqual(ran[0].runs.map((r) => r.key).sort(), ['orders_all', 'spend_all']);
  assert.ok(
    ran[0].runs.every((r) => r.status !== 'failed'),
    JSON.stringify(ran[0].runs),
  );
  assert.deepEqual(await scheduledRuns(ws.id), [
    ['orders_all', '2026-06-30'],
    ['spend_all', '2026-06-30'],
  ]);

  const after = (await getSchedule(stores, ws.id))!;
  assert.equal(after.nextAt, '2026-07-01T19:00:00.000Z');
  assert.equal(after.lastStartedAt, '2026-06-30T19:00:00.000Z');
  assert.equal(after.lastBaseDate, '2026-06-30');

  assert.deepEqual(
    (await runDueSchedules(stores, new Date('2026-06-30T19:05:00Z'))).filter((r) => r.workspaceId === ws.id),
    [],
    'a slot runs once',
  );
  assert.equal((await scheduledRuns(ws.id)).length, 2);
});

test('two runners for the same due slot: it is claimed once and its tags run once', async () => {
  const now = new Date('2026-07-01T19:00:30Z');
  const [a, b] = await Promise.all([runDueSchedules(stores, now), runDueSchedules(stores, now)]);
  const mine = [...a, ...b].filter((r) => r.workspaceId === ws.id);
  assert.equal(mine.length, 1);
  assert.equal(mine[0].baseDate, '2026-07-01');
  assert.deepEqual(await scheduledRuns(ws.id, '2026-07-01'), [
    ['orders_all', '2026-07-01'],
    ['spend_all', '2026-07-01'],
  ]);
  assert.equal((await getSchedule(stores, ws.id))!.nextAt, '2026-07-02T19:00:00.000Z');
});

test('a server that was down runs a missed slot once, for yesterday as of its return, and moves to the next slot after now', async () => {
  const now = new Date('2026-07-05T02:00:00Z'); // 10:00 on 07-05 in Beijing; slots of 07-03…07-05 were missed
  const ran = (await runDueSchedules(stores, now)).filter((r) => r.workspaceId === ws.id);
  assert.equal(ran.length, 1);
  assert.equal(ran[0].baseDate, '2026-07-04');
  assert.equal(ran[0].nextAt, '2026-07-05T19:00:00.000Z');
  assert.deepEqual(
    (await runDueSchedules(stores, now)).filter((r) => r.workspaceId === ws.id),
    [],
  );
});

test('the cron is read in the workspace zone; invalid crons are refused with the expression named; off removes the schedule', async () => {
  const ny = await new WorkspaceService(stores.state).create({ slug: uniqueSlug('tag-schedule-ny'), name: 'ny', timeZone: 'America/New_York' });
  scheduled.push(ny.id);
  const weekdays = await setSchedule(stores, ny.id, ' 30  6 * * 1-5 ', new Date('2026-07-03T12:00:00Z')); // a Friday, 08:00 in New York
  assert.equal(weekdays.cron, '30 6 * * 1-5');
  assert.equal(weekdays.nextAt, '2026-07-06T10:30:00.000Z', 'Monday 06:30 EDT');

  await assert.rejects(setSchedule(stores, ws.id, '0 3 * *'), /^CronError: cron "0 3 \* \*": expected 5 fields \(minute hour day-of-month month day-of-week/);
  await assert.rejects(setSchedule(stores, ws.id, '0 0 3 * * *'), /cron "0 0 3 \* \* \*": expected 5 fields .*got 6/);
  await assert.rejects(setSchedule(stores, ws.id, '61 3 * * *'), /cron "61 3 \* \* \*": Invalid value for minute: 61/);
  await assert.rejects(setSchedule(stores, ws.id, 'every day'), /cron "every day": expected 5 fields/);
  await assert.rejects(setSchedule(stores, ws.id, '0 0 30 2 *'), /cron "0 0 30 2 \*": never runs/);
  assert.equal((await getSchedule(stores, ws.id))!.cron, '0 3 * * *', 'a refused cron leaves the schedule as it was');
  assert.equal(await removeSchedule(stores, ws.id), true);

  assert.equal(await removeSchedule(stores, ny.id), true);
  assert.equal(await getSchedule(stores, ny.id), undefined);
  assert.equal(await removeSchedule(stores, ny.id), false);
});

test('the scheduler loop runs a due schedule by itself and stops cleanly', async () => {
  const loop = await new WorkspaceService(stores.state).create({ slug: uniqueSlug('tag-schedule-loop'), name: 'loop' });
  scheduled.push(loop.id);
  await saveTag(stores, loop.id, TAGS[0]);
  await setSchedule(stores, loop.id, 'daily');
  await stores.state.db
    .updateTable('tag_schedules')
    .set({ next_at: new Date(Date.now() - 60_000) })
    .where('workspace_id', '=', loop.id)
    .execute();
  const messages: string[] = [];
  const scheduler = startScheduler(stores, { intervalMs: 20, log: (m) => messages.push(m) });
  try {
    const deadline = Date.now() + 30_000;
    while ((await getSchedule(stores, loop.id))?.lastBaseDate === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  } finally {
    await scheduler.stop();
  }
  const yesterday = dateInZone('Asia/Shanghai', 1);
  assert.equal((await getSchedule(stores, loop.id))!.lastBaseDate, yesterday);
  assert.deepEqual(await scheduledRuns(loop.id), [['orders_all', yesterday]]);
  assert.ok(
    messages.some((m) => m.includes(`workspace ${loop.id}, base date ${yesterday}: 1 tag`)),
    messages.join('\n'),
  );
});
