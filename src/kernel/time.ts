/**
 * Time, one way everywhere: instants are stored in UTC; each workspace has a time zone (IANA) used for
 * its days, quiet hours and schedules. ClickHouse's DateTime64(3, 'UTC') takes and gives
 * "YYYY-MM-DD HH:MM:SS.sss" text; the API gives ISO-8601 UTC.
 */

/** Whether the text names an IANA time zone this runtime knows (Asia/Shanghai). */
export function isValidTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
    return true;
  } catch {
    return false;
  }
}

const offsetCache = new Map<string, number>();
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

/** The zone's offset from UTC (ms) at an instant; cached per zone and hour. */
function zoneOffset(timeZone: string, utcMs: number): number {
  const key = `${timeZone}|${Math.floor(utcMs / 3_600_000)}`;
  const cached = offsetCache.get(key);
  if (cached !== undefined) return cached;
  const parts = formatterFor(timeZone).formatToParts(new Date(utcMs));
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  const local = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  const offset = local - Math.floor(utcMs / 1000) * 1000;
  if (offsetCache.size > 100_000) offsetCache.clear();
  offsetCache.set(key, offset);
  return offset;
}

/** A wall-clock time in a zone → UTC epoch ms. */
export function zonedTimeToUtc(parts: [number, number, number, number, number, number, number], timeZone: string): number {
  const [y, mo, d, h, mi, s, ms] = parts;
  const wall = Date.UTC(y, mo - 1, d, h, mi, s, ms);
  const first = wall - zoneOffset(timeZone, wall);
  const second = wall - zoneOffset(timeZone, first);
  return second;
}

/** The instant a wall-clock date and time happen in a time zone. */
export function zonedInstant(date: string, clock: string, timeZone: string): Date {
  const [y, mo, d] = date.split('-').map(Number);
  const [h, mi] = clock.split(':').map(Number);
  return new Date(zonedTimeToUtc([y, mo, d, h, mi, 0, 0], timeZone));
}

/** Today (or `daysAgo` before it) as YYYY-MM-DD in a time zone. */
export function dateInZone(timeZone: string, daysAgo = 0, now = Date.now()): string {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date(now));
  const day = new Date(`${parts}T00:00:00Z`);
  day.setUTCDate(day.getUTCDate() - daysAgo);
  return day.toISOString().slice(0, 10);
}

/** "2026-07-01 03:00" as the wall clock shows it in a time zone. */
export function formatInZone(at: Date | string, timeZone: string): string {
  const parts = new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(new Date(at));
  const part = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  return `${part('year')}-${part('month')}-${part('day')} ${part('hour')}:${part('minute')}`;
}

/** UTC epoch ms → the text ClickHouse's DateTime64(3, 'UTC') takes. */
export function clickhouseTime(ms: number): string {
  const iso = new Date(ms).toISOString(); // 2026-01-02T03:04:05.678Z
  return iso.length === 24 ? `${iso.slice(0, 10)} ${iso.slice(11, 23)}` : iso.replace('T', ' ').replace('Z', '');
}

/** A time-zone-less text such as ClickHouse gives ("2026-01-02 03:04:05.678"): a UTC wall clock. */
const ZONELESS = /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/;

/** An instant as the API gives it (ISO-8601 UTC): from a Date, an ISO text, or ClickHouse's UTC text. */
export function isoTime(value: Date | string): string {
  if (value instanceof Date) return value.toISOString();
  return new Date(ZONELESS.test(value) ? `${value.replace(' ', 'T')}Z` : value).toISOString();
}

/** isoTime, with null for no time (null, undefined or an empty text). */
export function isoTimeOrNull(value: Date | string | null | undefined): string | null {
  return value === null || value === undefined || value === '' ? null : isoTime(value);
}
