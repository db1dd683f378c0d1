/** Parsing the values of import files: dates in the workspace's time zone, money, counts. */
import { zonedTimeToUtc } from '../kernel/time.ts';

class ValueError extends Error {
  override name = 'ValueError';
}

const DATE_TIME = /^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?)?\s*(Z|[+-]\d{2}:?\d{2})?$/;

/**
 * "2026-06-18 20:15:00", "2026/6/18 20:15", "2026-06-18", ISO with an offset, Excel's serial days…
 * Times without an offset are wall-clock times in the workspace's zone.
 */
export function parseDateTime(raw: string, timeZone: string): number {
  const text = raw.trim();
  const match = DATE_TIME.exec(text);
  if (!match) {
    if (/^\d{5}(\.\d+)?$/.test(text)) {
      // An Excel serial date (days since 1899-12-30), in the workspace's zone.
      const days = Number(text);
      const wall = Math.round((days - 25569) * 86_400_000);
      const d = new Date(wall);
      return zonedTimeToUtc([d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds(), 0], timeZone);
    }
    throw new ValueError('expected a date and time like 2026-06-18 20:15:00');
  }
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '0', zone] = match;
  const parts: [number, number, number, number, number, number, number] = [
    Number(y),
    Number(mo),
    Number(d),
    Number(h),
    Number(mi),
    Number(s),
    Math.round(Number(`0.${frac}`) * 1000),
  ];
  if (parts[1] < 1 || parts[1] > 12 || parts[2] < 1 || parts[2] > 31 || parts[3] > 23 || parts[4] > 59 || parts[5] > 60) {
    throw new ValueError('not a real date or time');
  }
  const check = new Date(Date.UTC(parts[0], parts[1] - 1, parts[2]));
  if (check.getUTCMonth() !== parts[1] - 1) throw new ValueError('not a real date');
  if (zone) {
    const wall = Date.UTC(parts[0], parts[1] - 1, parts[2], parts[3], parts[4], parts[5], parts[6]);
    if (zone === 'Z') return wall;
    const sign = zone.startsWith('-') ? -1 : 1;
    const digits = zone.replace(/[+:-]/g, '');
    return wall - sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2))) * 60_000;
  }
  return zonedTimeToUtc(parts, timeZone);
}

/** "¥1,299.00" → 1299; at most two decimals. */
export function parseMoney(raw: string): number {
  const text = raw.replace(/[¥￥,\s元]/g, '');
  if (!/^-?\d+(\.\d{1,2})?$/.test(text)) throw new ValueError('expected an amount like 1299.00');
  return Number(text);
}

export function parseCount(raw: string): number {
  const text = raw.replace(/[,\s]/g, '');
  if (!/^\d+$/.test(text)) throw new ValueError('expected a whole number');
  const value = Number(text);
  if (value > 2_147_483_647) throw new ValueError('too large');
  return value;
}

/** A date of birth "1990-03-04" (or 1990/3/4, 19900304): kept as text, checked to be a real date. */
export function parseBirthday(raw: string): string {
  const text = raw.trim();
  const match = /^(\d{4})[-/.]?(\d{1,2})[-/.]?(\d{1,2})$/.exec(text);
  if (!match) throw new ValueError('expected a date like 1990-03-04');
  const [, y, m, d] = match;
  const date = new Date(Date.UTC(Number(y), Number(m) - 1, Number(d)));
  if (date.getUTCDate() !== Number(d) || Number(y) < 1900 || date.getTime() > Date.now()) throw new ValueError('not a real date of birth');
  return date.toISOString().slice(0, 10);
}
