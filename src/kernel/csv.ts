/**
 * CSV for exports people open in Excel or WPS: every cell goes through here, so a value a customer
 * typed (a name, an email) can never run as a formula (OWASP "CSV injection").
 */
import { stringify } from 'csv-stringify/sync';

/** A plain number (`-12.5`, `1,234.50`) or a phone (`+8613812345678`, `+86 138 1234 5678`): kept as it is. */
const NUMBER_OR_PHONE = /^(?:[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|\+\d[\d ]*\d)$/;

/**
 * A cell a spreadsheet would read as a formula gets a leading `'`: it starts with `=`, `@`, a tab or
 * a carriage return, or with `+`/`-` without being a plain number or phone (`-2+3` is a formula).
 */
export function neutraliseCell(value: string): string {
  const first = value.charAt(0);
  if (first === '=' || first === '@' || first === '\t' || first === '\r') return `'${value}`;
  if ((first === '+' || first === '-') && !NUMBER_OR_PHONE.test(value)) return `'${value}`;
  return value;
}

/** Rows as CSV text (one line each, `\n`-ended): cells neutralised, then quoted where they hold `"`, `,`, `\r` or `\n`. */
export function csvRows(rows: ReadonlyArray<ReadonlyArray<string | number | bigint | null | undefined>>): string {
  if (rows.length === 0) return '';
  // csv-stringify's defaults: `\n` line ends, quotes where a cell holds `"`, `,`, `\r` or `\n` (naming a
  // record delimiter would stop it quoting a lone `\r`).
  return stringify(rows.map((row) => row.map((cell) => neutraliseCell(cell === null || cell === undefined ? '' : String(cell)))));
}
