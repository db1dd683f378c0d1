import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseBirthday, parseCount, parseDateTime, parseMoney } from './values.ts';
import { clickhouseTime } from '../kernel/time.ts';

test('wall-clock times are read in the workspace time zone', () => {
  assert.equal(clickhouseTime(parseDateTime('2026-06-18 20:15:00', 'Asia/Shanghai')), '2026-06-18 12:15:00.000');
  assert.equal(clickhouseTime(parseDateTime('2026/6/18 8:05', 'Asia/Shanghai')), '2026-06-18 00:05:00.000');
  assert.equal(clickhouseTime(parseDateTime('2026-11-11', 'Asia/Shanghai')), '2026-11-10 16:00:00.000');
  assert.equal(clickhouseTime(parseDateTime('2026-07-01 12:00:00', 'America/New_York')), '2026-07-01 16:00:00.000');
  assert.equal(clickhouseTime(parseDateTime('2026-01-01 12:00:00', 'America/New_York')), '2026-01-01 17:00:00.000');
  assert.equal(clickhouseTime(parseDateTime('2026-06-18T12:15:00Z', 'Asia/Shanghai')), '2026-06-18 12:15:00.000');
  assert.equal(clickhouseTime(parseDateTime('2026-06-18T20:15:00+08:00', 'UTC')), '2026-06-18 12:15:00.000');
  assert.equal(clickhouseTime(parseDateTime('2026年6月18日 20:15', 'Asia/Shanghai')), '2026-06-18 12:15:00.000');
});

test('bad dates are refused with what was expected', () => {
  assert.throws(() => parseDateTime('yesterday', 'Asia/Shanghai'), /expected a date and time/);
  assert.throws(() => parseDateTime('2026-02-30 10:00', 'Asia/Shanghai'), /not a real date/);
  assert.throws(() => parseDateTime('2026-13-01', 'Asia/Shanghai'), /not a real date/);
});

test('money, counts and birthdays', () => {
  assert.equal(parseMoney('¥1,299.00'), 1299);
  assert.equal(parseMoney('0.5'), 0.5);
  assert.throws(() => parseMoney('12.345'), /amount like/);
  assert.throws(() => parseMoney('abc'), /amount like/);
  assert.equal(parseCount('3'), 3);
  assert.throws(() => parseCount('2.5'), /whole number/);
  assert.equal(parseBirthday('1990/3/4'), '1990-03-04');
  assert.equal(parseBirthday('19900304'), '1990-03-04');
  assert.throws(() => parseBirthday('1990-02-30'), /not a real date/);
});
