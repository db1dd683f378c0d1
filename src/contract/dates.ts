/**
 * Calendar dates as the API takes them (asOf, today, baseDate…): YYYY-MM-DD, a day that exists
 * (2026-02-30 does not, though Date.parse takes it), within the years 1900–2200. One check for every
 * date a request carries, so a bad one is a 400 naming the field, never a store's error.
 */
import { z } from 'zod';

const DATE_MIN_YEAR = 1900;
const DATE_MAX_YEAR = 2200;

export function isCalendarDate(text: string): boolean {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!match) return false;
  const year = Number(match[1]);
  if (year < DATE_MIN_YEAR || year > DATE_MAX_YEAR) return false;
  const day = new Date(Date.UTC(year, Number(match[2]) - 1, Number(match[3])));
  return !Number.isNaN(day.getTime()) && day.toISOString().slice(0, 10) === text;
}

/** A calendar date field: YYYY-MM-DD, a real day, years 1900–2200. */
export const calendarDate = z.string().refine(isCalendarDate, `a real calendar date like 2026-06-30 (YYYY-MM-DD, years ${DATE_MIN_YEAR}–${DATE_MAX_YEAR})`);
