/** Small helpers so every command prints the same way: tables to stdout, progress to stderr. */
import { asWritten, commandEnv, stderrIsTTY } from './hosted.ts';

export function printTable(rows: ReadonlyArray<Record<string, unknown>>, columns?: string[]): void {
  if (rows.length === 0) {
    console.log('(none)');
    return;
  }
  const cols = columns ?? Object.keys(rows[0]);
  const text = rows.map((row) => cols.map((c) => formatCell(row[c])));
  const widths = cols.map((c, i) => Math.max(displayWidth(c), ...text.map((r) => displayWidth(r[i]))));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => pad(cell, widths[i]))
      .join('  ')
      .trimEnd();
  console.log(line(cols));
  console.log(line(widths.map((w) => '-'.repeat(w))));
  for (const r of text) console.log(line(r));
}

function formatCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') return Number.isInteger(value) ? value.toLocaleString('en-US') : String(Number(value.toFixed(Math.abs(value) < 10 ? 4 : 2)));
  // A path the server was given absolute is shown as written, and the column sized for that.
  return asWritten(String(value));
}

/** CJK characters take two columns in a terminal. */
function displayWidth(text: string): number {
  let width = 0;
  for (const ch of text) width += /[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]/.test(ch) ? 2 : 1;
  return width;
}

function pad(text: string, width: number): string {
  return text + ' '.repeat(Math.max(0, width - displayWidth(text)));
}

export function formatBytes(bytes: number | undefined): string {
  if (bytes === undefined) return '-';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

/** A progress line on stderr that rewrites itself on a terminal and prints every few seconds otherwise. */
export class Progress {
  private lastPrint = 0;
  private readonly label: string;
  private readonly total?: number;
  private readonly started = Date.now();
  constructor(label: string, total?: number) {
    this.label = label;
    this.total = total;
  }
  update(done: number, unit = 'rows'): void {
    const now = Date.now();
    const interval = Number(commandEnv('SIYU_PROGRESS_INTERVAL_MS')) || (stderrIsTTY() ? 200 : 5000);
    if (now - this.lastPrint < interval) return;
    this.lastPrint = now;
    const seconds = (now - this.started) / 1000;
    const rate = seconds > 0 ? Math.round(done / seconds) : 0;
    const share = this.total ? ` (${((done / this.total) * 100).toFixed(0)}%)` : '';
    const text = `${this.label}: ${done.toLocaleString('en-US')}${this.total ? '/' + this.total.toLocaleString('en-US') : ''} ${unit}${share}, ${rate.toLocaleString('en-US')} ${unit}/s`;
    if (stderrIsTTY()) process.stderr.write(`\r${text}\x1b[K`);
    else process.stderr.write(text + '\n');
  }
  done(): void {
    if (stderrIsTTY() && this.lastPrint > 0) process.stderr.write('\r\x1b[K');
  }
  elapsedSeconds(): number {
    return (Date.now() - this.started) / 1000;
  }
}
