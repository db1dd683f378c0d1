/**
 * The behaviour index: what segments read for "did E at least N times" and "did A, then (not) B"
 * instead of scanning every event and grouping millions of people.
 * - `behaviour_rows`: the events without duplicates or deleted rows, ordered by event, person and time
 *   (a sequence is then a merge of two sorted streams, read without FINAL);
 * - `behaviour_days`: per event and day in the workspace's zone, a bitmap of the people who did it at
 *   least `level` times (1…LEVELS), so counts over a window are bitmap algebra;
 * - what each row has near it: `near_hour` / `near_day`, a bit per event type (`behaviour_event_bits`, in the state store)
 *   the same person did within the hour / the day from the row's moment, and `behaviour_near`, per
 *   event, day, horizon and mask, a bitmap of the people with such a row — so "A, then (not) B
 *   within W" for W up to a day is mostly bitmap algebra, and only A rows with a B near them are
 *   matched row by row.
 * All are rebuilt a week at a time from the events and swapped in whole (a week's masks look a day
 * into the next week, so a change on a Monday rebuilds the week before too). Every write to events is
 * also logged (a materialised view) in `event_changes`: the people with changes logged since the
 * build's watermark are read from the events themselves, so counts stay exact between builds.
 */
import type { Stores } from '../stores/stores.ts';
import { WorkspaceService } from '../access/workspaces.ts';
import type { BehaviourBuild } from '../contract/segments.ts';

/** Per day, the people who did an event at least 1…LEVELS times; more than that reads the rows. */
export const LEVELS = 8;
/**
 * Changes logged this long before a build started count as changed after it too: a write is logged
 * as its block is written, a moment before that block is visible to the build's read.
 */
const MARGIN_SECONDS = 5;

/** How far ahead a row's masks look (seconds), and the column of each. */
export const HORIZONS = { 3600: 'near_hour', 86400: 'near_day' } as const;
const LONGEST_HORIZON = Math.max(...Object.keys(HORIZONS).map(Number));
/** The bit of every event type past the first 63: set, it says "one of those", so it settles nothing. */
export const SHARED_BIT = 63;

/** The change log keeps 30 days (TTL): a build older than this is not trusted, nor built upon. */
const TRUSTED_DAYS = 25;

/** How long ago a ClickHouse DateTime64 text (UTC) was, in milliseconds. */
const ageMs = (moment: string) => Date.now() - Date.parse(`${moment.replace(' ', 'T')}Z`);

/** Whether a build can be read (and updated from the change log): its zone is the workspace's and it is recent. */
export function usable(build: BehaviourBuild | undefined, timeZone: string): build is BehaviourBuild {
  return build !== undefined && build.timeZone === timeZone && ageMs(build.watermark) < TRUSTED_DAYS * 86_400_000;
}

/**
 * The last build as of at most BUILD_CACHE_MS ago, for counts. An older build than the latest is
 * still read right: its watermark is earlier, so more people are read from the events, never fewer.
 */
const BUILD_CACHE_MS = 30_000;
const knownBuilds = new WeakMap<Stores, Map<string, { build: BehaviourBuild | undefined; at: number }>>();

export async function recentBuild(stores: Stores, workspaceId: string): Promise<BehaviourBuild | undefined> {
  const known = knownBuilds.get(stores)?.get(workspaceId);
  if (known && Date.now() - known.at < BUILD_CACHE_MS) return known.build;
  const build = await lastBuild(stores, workspaceId);
  remember(stores, workspaceId, build);
  return build;
}

function remember(stores: Stores, workspaceId: string, build: BehaviourBuild | undefined): void {
  if (!knownBuilds.has(stores)) knownBuilds.set(stores, new Map());
  knownBuilds.get(stores)!.set(workspaceId, { build, at: Date.now() });
}

async function lastBuild(stores: Stores, workspaceId: string): Promise<BehaviourBuild | undefined> {
  const [[row], bits] = await Promise.all([
    stores.facts.query<{ watermark: string; built_at: string; time_zone: string; weeks: string[]; seconds: number }>(
      `SELECT watermark, built_at, time_zone, arrayMap(w -> toString(w), weeks) AS weeks, seconds FROM behaviour_builds FINAL WHERE workspace_id = {ws:String}`,
      { ws: workspaceId },
    ),
    eventBits(stores, workspaceId),
  ]);
  return row ? { workspaceId, watermark: row.watermark, builtAt: row.built_at, timeZone: row.time_zone, weeks: row.weeks, seconds: Number(row.seconds), bits } : undefined;
}

/** The bits given so far (never changed once given: masks already built rely on them). */
async function eventBits(stores: Stores, workspaceId: string): Promise<Record<string, number>> {
  const rows = await stores.state.db.selectFrom('behaviour_event_bits').select(['event', 'bit']).where('workspace_id', '=', workspaceId).execute();
  return Object.fromEntries(rows.map((r) => [r.event, Number(r.bit)]));
}

/**
 * Gives the workspace's event types without a bit the next ones free (in name order), up to
 * SHARED_BIT. In one transaction holding the workspace's row, so two builds (two processes on one
 * ClickHouse server) never give one bit twice or one event two bits.
 */
async function assignEventBits(stores: Stores, workspaceId: string): Promise<Record<string, number>> {
  const events = await stores.facts.query<{ event: string }>(`SELECT DISTINCT event FROM events WHERE workspace_id = {ws:String} ORDER BY event`, { ws: workspaceId });
  await stores.state.db.transaction().execute(async (tx) => {
    await tx.selectFrom('workspaces').select('id').where('id', '=', workspaceId).forUpdate().execute();
    const given = await tx.selectFrom('behaviour_event_bits').select(['event', 'bit']).where('workspace_id', '=', workspaceId).execute();
    const known = new Set(given.map((g) => g.event));
    const free = Math.max(-1, ...given.map((g) => Number(g.bit))) + 1;
    const added = events
      .filter((e) => !known.has(e.event))
      .slice(0, Math.max(0, SHARED_BIT - free))
      .map((e, i) => ({ workspace_id: workspaceId, event: e.event, bit: free + i }));
    if (added.length > 0) await tx.insertInto('behaviour_event_bits').values(added).execute();
  });
  return eventBits(stores, workspaceId);
}

/**
 * Whether anyone changed since the build: what every count asks, so it reads one row of the log,
 * not all the changes since.
 */
export async function hasChangesSince(stores: Stores, workspaceId: string, build: BehaviourBuild): Promise<boolean> {
  const rows = await stores.facts.query(`SELECT 1 FROM event_changes WHERE workspace_id = {ws:String} AND logged_at >= {watermark:DateTime64(3, 'UTC')} LIMIT 1`, {
    ws: workspaceId,
    watermark: build.watermark,
  });
  return rows.length > 0;
}

/** How many people changed since the last build (their behaviour is read from the events). */
async function changedSince(stores: Stores, workspaceId: string, build: BehaviourBuild): Promise<number> {
  const [row] = await stores.facts.query<{ n: string }>(
    `SELECT uniqExact(person_id) AS n FROM event_changes WHERE workspace_id = {ws:String} AND logged_at >= {watermark:DateTime64(3, 'UTC')}`,
    { ws: workspaceId, watermark: build.watermark },
  );
  return Number(row.n);
}

/** A partition of the index tables (workspace, the week's Monday): both are checked, never user text. */
function partition(workspaceId: string, week: string): string {
  if (!/^[A-Za-z0-9_-]+$/.test(workspaceId) || !/^\d{4}-\d{2}-\d{2}$/.test(week)) throw new Error(`invalid partition ${workspaceId} ${week}`);
  return `('${workspaceId}', '${week}')`;
}

/** Per workspace, the last build asked for: each waits for the one before (they share stage partitions). */
const building = new Map<string, Promise<BehaviourBuild>>();

/**
 * Brings the index up to date: the weeks with changed events since the last build (all weeks on
 * the first build, or when the workspace's zone changed) are rebuilt and swapped in. One build per
 * workspace at a time: a call while others run starts after them. `marginSeconds` 0 is
 * for callers that know nothing writes events meanwhile (tests, benchmarks).
 */
export async function refreshBehaviourIndex(stores: Stores, workspaceId: string, options: { marginSeconds?: number } = {}): Promise<BehaviourBuild> {
  const before = building.get(workspaceId)?.catch(() => undefined) ?? Promise.resolve();
  const build = before.then(() => buildIndex(stores, workspaceId, options.marginSeconds ?? MARGIN_SECONDS));
  building.set(workspaceId, build);
  const forget = () => {
    if (building.get(workspaceId) === build) building.delete(workspaceId);
  };
  build.then(forget, forget);
  return build;
}

async function buildIndex(stores: Stores, workspaceId: string, marginSeconds: number): Promise<BehaviourBuild> {
  const started = performance.now();
  const { facts } = stores;
  const workspace = await new WorkspaceService(stores.state).get(workspaceId);
  const tz = workspace.timeZone;
  const params = { ws: workspaceId, tz };
  const [{ now }] = await facts.query<{ now: string }>(`SELECT toString(now64(3) - toIntervalMillisecond({margin:UInt32})) AS now`, { margin: Math.round(marginSeconds * 1000) });
  const previous = await lastBuild(stores, workspaceId);
  // The weeks (their Mondays, in the workspace's zone) to rebuild: those with changes logged since the
  // last build; every week with events (or in the index) on the first build or a new zone.
  const weeks = (
    usable(previous, tz)
      ? await facts.query<{ w: string }>(
          // A change also moves the masks of the rows up to the longest horizon before it.
          `SELECT DISTINCT toString(arrayJoin([toMonday(toDate(timestamp, {tz:String})), toMonday(toDate(timestamp - toIntervalSecond(${LONGEST_HORIZON}), {tz:String}))])) AS w
           FROM event_changes WHERE workspace_id = {ws:String} AND logged_at >= {watermark:DateTime64(3, 'UTC')}`,
          { ...params, watermark: previous.watermark },
        )
      : await facts.query<{ w: string }>(
          `SELECT DISTINCT toString(toMonday(toDate(timestamp, {tz:String}))) AS w FROM events WHERE workspace_id = {ws:String}
           UNION DISTINCT SELECT DISTINCT toString(toMonday(day)) AS w FROM behaviour_rows WHERE workspace_id = {ws:String}`,
          params,
        )
  )
    .map((r) => r.w)
    .sort();
  const bits = weeks.length > 0 ? await assignEventBits(stores, workspaceId) : {};
  const tables = ['behaviour_rows', 'behaviour_days', 'behaviour_near'];
  // The UTC moment a local day begins at.
  const start = (day: string) => `toDateTime64(toDateTime(${day}, {tz:String}), 3)`;
  // A row's masks: the bits of what the person did from its moment to a horizon later (itself included).
  const near = (horizon: number) => `groupBitOr(bit) OVER (PARTITION BY person_id ORDER BY ts RANGE BETWEEN CURRENT ROW AND ${horizon} FOLLOWING)`;
  const masks = Object.values(HORIZONS).join(', ');
  for (const week of weeks) {
    const part = partition(workspaceId, week);
    const bounds = { ...params, week, events: Object.keys(bits), bits: Object.values(bits) };
    for (const table of tables) await facts.command(`ALTER TABLE ${table}_stage DROP PARTITION ${part}`);
    // The week's events as they stand (FINAL: the last version of each, deleted ones left out), and
    // what each has near it, looking into the next week's first day. Person ids are dense and
    // 32-bit, as in OneID.
    await facts.command(
      `INSERT INTO behaviour_rows_stage (workspace_id, event, person_id, ts, day, properties, ${masks})
       SELECT workspace_id, event, person_id, ts, day, properties, ${masks} FROM (
         SELECT workspace_id, event, toUInt32(person_id) AS person_id, toUnixTimestamp(timestamp) AS ts, toDate(timestamp, {tz:String}) AS day, properties,
                bitShiftLeft(toUInt64(1), transform(event, {events:Array(String)}, {bits:Array(UInt8)}, toUInt8(${SHARED_BIT}))) AS bit,
                ${Object.entries(HORIZONS)
                  .map(([horizon, column]) => `${near(Number(horizon))} AS ${column}`)
                  .join(', ')}
         FROM events FINAL
         WHERE workspace_id = {ws:String} AND person_id > 0
           AND timestamp >= ${start('{week:Date}')} AND timestamp < ${start('addDays({week:Date}, 7)')} + toIntervalSecond(${LONGEST_HORIZON + 1})
       ) WHERE ts < toUnixTimestamp(toDateTime(addDays({week:Date}, 7), {tz:String}))`,
      bounds,
    );
    // One part per week: a sequence merges one sorted stream per week, not one per insert block.
    await facts.command(`OPTIMIZE TABLE behaviour_rows_stage PARTITION ${part} FINAL`);
    await facts.command(
      `INSERT INTO behaviour_days_stage (workspace_id, event, day, level, people)
       SELECT workspace_id, event, day, level, groupBitmapState(toUInt64(person_id)) FROM (
         SELECT workspace_id, event, day, person_id, count() AS n FROM behaviour_rows_stage
         WHERE workspace_id = {ws:String} AND toMonday(day) = {week:Date} GROUP BY workspace_id, event, day, person_id
       ) ARRAY JOIN range(1, toUInt8(least(n, ${LEVELS})) + 1) AS level
       GROUP BY workspace_id, event, day, level`,
      bounds,
    );
    await facts.command(
      `INSERT INTO behaviour_near_stage (workspace_id, event, day, horizon, mask, people)
       SELECT workspace_id, event, day, horizon, mask, groupBitmapState(toUInt64(person_id)) FROM behaviour_rows_stage
       ARRAY JOIN [${Object.keys(HORIZONS).join(', ')}] AS horizon, [${masks}] AS mask
       WHERE workspace_id = {ws:String} AND toMonday(day) = {week:Date}
       GROUP BY workspace_id, event, day, horizon, mask`,
      bounds,
    );
    for (const table of ['behaviour_days', 'behaviour_near']) await facts.command(`OPTIMIZE TABLE ${table}_stage PARTITION ${part} FINAL`);
    // Swapped in whole: a count never sees half a week.
    for (const table of tables) await facts.command(`ALTER TABLE ${table} REPLACE PARTITION ${part} FROM ${table}_stage`);
    for (const table of tables) await facts.command(`ALTER TABLE ${table}_stage DROP PARTITION ${part}`);
  }
  const seconds = (performance.now() - started) / 1000;
  await facts.command(
    `INSERT INTO behaviour_builds (workspace_id, watermark, built_at, time_zone, weeks, seconds)
     VALUES ({ws:String}, {watermark:DateTime64(3, 'UTC')}, now64(3), {tz:String}, {weeks:Array(Date)}, {seconds:Float64})`,
    { ...params, watermark: now, weeks, seconds },
  );
  // Read back: built_at is the facts store's clock, like the watermark.
  const build = (await lastBuild(stores, workspaceId))!;
  remember(stores, workspaceId, build);
  return build;
}

/** The last build and how many people changed since it (null before the first build). */
export async function behaviourIndexStatus(stores: Stores, workspaceId: string): Promise<{ build: BehaviourBuild | null; changedPeople: number | null }> {
  const build = await lastBuild(stores, workspaceId);
  return { build: build ?? null, changedPeople: build ? await changedSince(stores, workspaceId, build) : null };
}

/** Rebuilding a week is not free: a workspace with changes is brought up to date at most this often. */
const REFRESH_EVERY_MS = 10 * 60_000;

/**
 * Keeps every workspace's index close to its events in the background: each minute, a workspace is
 * built when it never was (or its build can no longer be read), and rebuilt when its build is older
 * than REFRESH_EVERY_MS and changes were logged since. Counts are exact either way; this keeps the
 * people read from the events few.
 */
export function startBehaviourIndexer(stores: Stores, options: { intervalMs?: number; log?: (message: string) => void } = {}): { stop(): Promise<void> } {
  const log = options.log ?? (() => undefined);
  let tick: Promise<void> | undefined;
  let stopped = false;
  const run = async () => {
    for (const workspace of await new WorkspaceService(stores.state).list()) {
      if (stopped) return;
      const build = await lastBuild(stores, workspace.id);
      if (usable(build, workspace.timeZone) && (ageMs(build.builtAt) < REFRESH_EVERY_MS || !(await hasChangesSince(stores, workspace.id, build)))) continue;
      const done = await refreshBehaviourIndex(stores, workspace.id);
      if (done.weeks.length > 0)
        log(`behaviour index of workspace ${workspace.slug}: ${done.weeks.length} week${done.weeks.length === 1 ? '' : 's'} rebuilt in ${done.seconds.toFixed(1)} s`);
    }
  };
  const timer = setInterval(() => {
    if (tick || stopped) return;
    tick = run()
      .catch((error: Error) => log(`behaviour index: ${error.message}`))
      .finally(() => {
        tick = undefined;
      });
  }, options.intervalMs ?? 60_000);
  timer.unref();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await tick;
    },
  };
}
