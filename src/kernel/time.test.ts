import assert from 'node:assert/strict';
import test from 'node:test';
import { clickhouseTime, dateInZone, formatInZone, isoTime, isoTimeOrNull, isValidTimeZone, zonedInstant, zonedTimeToUtc } from './time.ts';

test('isoTime reads a Date, an ISO text and ClickHouse UTC text alike, whatever the process zone', () => {
  const expected = '2026-01-02T03:04:05.678Z';
  assert.equal(isoTime(new Date(expected)), expected);
  assert.equal(isoTime(expected), expected);
  assert.equal(isoTime('2026-01-02 03:04:05.678'), expected, 'ClickHouse text is UTC, not local time');
  assert.equal(isoTime('2026-01-02T11:04:05.678+08:00'), expected);
  assert.equal(isoTimeOrNull(null), null);
  assert.equal(isoTimeOrNull(''), null);
  assert.equal(isoTimeOrNull(undefined), null);
});

test('a wall clock in a zone becomes the right instant, across a daylight-saving change', () => {
  assert.equal(new Date(zonedTimeToUtc([2026, 6, 18, 20, 15, 0, 0], 'Asia/Shanghai')).toISOString(), '2026-06-18T12:15:00.000Z');
  // New York: 01:30 on 2026-03-08 is before the spring change (EST, -5), 03:30 after it (EDT, -4).
  assert.equal(new Date(zonedTimeToUtc([2026, 3, 8, 1, 30, 0, 0], 'America/New_York')).toISOString(), '2026-03-08T06:30:00.000Z');
  assert.equal(new Date(zonedTimeToUtc([2026, 3, 8, 3, 30, 0, 0], 'America/New_York')).toISOString(), '2026-03-08T07:30:00.000Z');
  assert.equal(zonedInstant('2026-06-18', '09:00', 'Asia/Shanghai').toISOString(), '2026-06-18T01:00:00.000Z');
});

test('days and wall clocks are the zone’s, and ClickHouse gets its own text', () => {
  const instant = Date.parse('2026-06-30T16:30:00Z'); // 00:30 on 1 July in Shanghai
  assert.equal(dateInZone('Asia/Shanghai', 0, instant), '2026-07-01');
  assert.equal(dateInZone('UTC', 0, instant), '2026-06-30');
  assert.equal(dateInZone('Asia/Shanghai', 1, instant), '2026-06-30');
  assert.equal(formatInZone(new Date(instant), 'Asia/Shanghai'), '2026-07-01 00:30');
  assert.equal(clickhouseTime(Date.parse('2026-01-02T03:04:05.678Z')), '2026-01-02 03:04:05.678');
  assert.equal(isValidTimeZone('Asia/Shanghai'), true);
  assert.equal(isValidTimeZone('Mars/Olympus'), false);
});
