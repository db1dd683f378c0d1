/**
 * Reads an import file as a stream of rows, whatever it is: CSV or TSV (any delimiter), XLSX, JSON
 * lines, optionally gzip-compressed, in UTF-8 (with or without BOM) or GB18030/GBK. It says what it
 * detected so the summary can tell the user.
 */
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { Readable } from 'node:stream';
import iconv from 'iconv-lite';
import { parse } from 'csv-parse';
import ExcelJS from 'exceljs';

export type FileFormat = 'csv' | 'xlsx' | 'jsonl';
export type TextEncoding = 'utf-8' | 'utf-8-bom' | 'gb18030' | 'utf-16le';

export interface FileShape {
  path: string;
  format: FileFormat;
  gzip: boolean;
  encoding?: TextEncoding;
  delimiter?: string;
}

export interface SourceRow {
  /** 1-based line of the row in the file, counting the header as row 1 (as a spreadsheet shows it). */
  rowNumber: number;
  values: string[];
}

export interface JsonLine {
  rowNumber: number;
  text: string;
}

export class FileFormatError extends Error {
  override name = 'FileFormatError';
}

const SAMPLE_BYTES = 256 * 1024;

function readHead(file: string, gzip: boolean): Buffer {
  const fd = fs.openSync(file, 'r');
  try {
    const raw = Buffer.alloc(gzip ? 64 * 1024 : SAMPLE_BYTES);
    const read = fs.readSync(fd, raw, 0, raw.length, 0);
    if (!gzip) return raw.subarray(0, read);
    // Decompress as much of the head as we have; a truncated stream is fine for sniffing.
    try {
      return zlib.gunzipSync(raw.subarray(0, read), { finishFlush: zlib.constants.Z_SYNC_FLUSH }).subarray(0, SAMPLE_BYTES);
    } catch {
      return zlib.gunzipSync(fs.readFileSync(file)).subarray(0, SAMPLE_BYTES);
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** Valid UTF-8 in the sample (ignoring a multi-byte character cut at its end) means UTF-8. */
function isUtf8(sample: Buffer): boolean {
  let end = sample.length;
  // Step back over a trailing incomplete sequence.
  for (let back = 1; back <= 3 && end - back >= 0; back++) {
    const byte = sample[end - back];
    if ((byte & 0xc0) === 0x80) continue;
    if (byte >= 0xc0) {
      const need = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : 2;
      if (need > back) end -= back;
    }
    break;
  }
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(sample.subarray(0, end));
    return true;
  } catch {
    return false;
  }
}

export function detectEncoding(sample: Buffer): TextEncoding {
  if (sample[0] === 0xef && sample[1] === 0xbb && sample[2] === 0xbf) return 'utf-8-bom';
  if (sample[0] === 0xff && sample[1] === 0xfe) return 'utf-16le';
  return isUtf8(sample) ? 'utf-8' : 'gb18030';
}

/** The delimiter that splits the header line into the most fields (quotes respected). */
export function detectDelimiter(firstLine: string): string {
  let best = ',';
  let bestCount = 0;
  for (const candidate of [',', '\t', ';', '|']) {
    let count = 0;
    let quoted = false;
    for (const ch of firstLine) {
      if (ch === '"') quoted = !quoted;
      else if (!quoted && ch === candidate) count++;
    }
    if (count > bestCount) {
      best = candidate;
      bestCount = count;
    }
  }
  // No delimiter at all, but words apart: columns separated by runs of spaces (CDNOW's export).
  if (bestCount === 0 && /\S\s+\S/.test(firstLine.trim())) return ' ';
  return best;
}

function decodeSample(sample: Buffer, encoding: TextEncoding): string {
  if (encoding === 'gb18030') return iconv.decode(sample, 'gb18030');
  if (encoding === 'utf-16le') return sample.subarray(2).toString('utf16le');
  return sample.toString('utf8').replace(/^\uFEFF/, '');
}

export function describeShape(shape: FileShape): string {
  const parts: string[] = [shape.format === 'csv' ? (shape.delimiter === '\t' ? 'TSV' : 'CSV') : shape.format.toUpperCase()];
  if (shape.encoding) parts.push(shape.encoding === 'utf-8-bom' ? 'UTF-8 with BOM' : shape.encoding.toUpperCase());
  if (shape.format === 'csv' && shape.delimiter === ' ') parts.push('columns separated by spaces');
  else if (shape.format === 'csv' && shape.delimiter && shape.delimiter !== '\t') parts.push(`delimiter ${JSON.stringify(shape.delimiter)}`);
  if (shape.gzip) parts.push('gzip');
  return parts.join(', ');
}

/** Looks at a file's first bytes and says how to read it. */
export function sniffFile(file: string): FileShape {
  if (!fs.existsSync(file)) throw new FileFormatError(`${file}: no such file`);
  const fd = fs.openSync(file, 'r');
  const magic = Buffer.alloc(4);
  fs.readSync(fd, magic, 0, 4, 0);
  fs.closeSync(fd);
  const gzip = magic[0] === 0x1f && magic[1] === 0x8b;
  const head = readHead(file, gzip);
  if (head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04) {
    return { path: file, format: 'xlsx', gzip };
  }
  const encoding = detectEncoding(head);
  const text = decodeSample(head, encoding);
  const firstLine = text.split(/\r?\n/, 1)[0] ?? '';
  const name = path.basename(file).toLowerCase().replace(/\.gz$/, '');
  if (name.endsWith('.jsonl') || name.endsWith('.ndjson') || firstLine.trimStart().startsWith('{')) {
    return { path: file, format: 'jsonl', gzip, encoding };
  }
  return { path: file, format: 'csv', gzip, encoding, delimiter: name.endsWith('.tsv') ? '\t' : detectDelimiter(firstLine) };
}

function byteStream(shape: FileShape): Readable {
  const raw = fs.createReadStream(shape.path, { highWaterMark: 1 << 20 });
  return shape.gzip ? raw.pipe(zlib.createGunzip()) : raw;
}

function textStream(shape: FileShape): NodeJS.ReadableStream {
  const bytes = byteStream(shape);
  switch (shape.encoding) {
    case 'gb18030':
      return bytes.pipe(iconv.decodeStream('gb18030'));
    case 'utf-16le':
      return bytes.pipe(iconv.decodeStream('utf-16le'));
    default:
      return bytes.pipe(iconv.decodeStream('utf-8')); // strips a BOM
  }
}

function cellText(value: ExcelJS.CellValue): string {
  if (value === null || value === undefined) return '';
  if (value instanceof Date) return value.toISOString().replace('T', ' ').replace(/\.000Z$/, '').replace('Z', '');
  if (typeof value === 'object') {
    if ('richText' in value) return value.richText.map((part) => part.text).join('');
    if ('text' in value) return String(value.text);
    if ('result' in value) return cellText(value.result as ExcelJS.CellValue);
    return '';
  }
  return String(value);
}

/** Every row of a tabular file (CSV/TSV/XLSX), the header first. */
export async function* readRows(shape: FileShape): AsyncGenerator<SourceRow> {
  if (shape.format === 'jsonl') throw new FileFormatError(`${shape.path}: JSON lines are not a table`);
  if (shape.format === 'xlsx') {
    const input = shape.gzip ? byteStream(shape) : fs.createReadStream(shape.path);
    const workbook = new ExcelJS.stream.xlsx.WorkbookReader(input, { sharedStrings: 'cache', worksheets: 'emit', styles: 'ignore', hyperlinks: 'ignore' });
    for await (const worksheet of workbook) {
      let width = 0;
      for await (const row of worksheet as AsyncIterable<ExcelJS.Row>) {
        const cells = (row.values as ExcelJS.CellValue[]).slice(1);
        if (row.number === 1) width = cells.length;
        const values: string[] = [];
        for (let i = 0; i < Math.max(width, cells.length); i++) values.push(cellText(cells[i]).trim());
        yield { rowNumber: row.number, values };
      }
      break; // the first worksheet only
    }
    return;
  }
  const parser = textStream(shape).pipe(
    parse({ delimiter: shape.delimiter ?? ',', relax_column_count: true, relax_quotes: true, skip_empty_lines: true, info: true, trim: false }),
  );
  for await (const record of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
    const values = record.record.map((v) => v.trim());
    // Space-separated columns: a run of spaces is one separator, so empty cells are not columns.
    yield { rowNumber: record.info.lines, values: shape.delimiter === ' ' ? values.filter((v) => v !== '') : values };
  }
}

/** Every non-empty line of a JSON-lines file. */
export async function* readJsonLines(shape: FileShape): AsyncGenerator<JsonLine> {
  let rest = '';
  let line = 0;
  for await (const chunk of textStream(shape)) {
    const text = rest + (chunk as string);
    let start = 0;
    for (let end = text.indexOf('\n', start); end !== -1; end = text.indexOf('\n', start)) {
      line++;
      const content = text.slice(start, end).trim();
      if (content) yield { rowNumber: line, text: content };
      start = end + 1;
    }
    rest = text.slice(start);
  }
  if (rest.trim()) yield { rowNumber: line + 1, text: rest.trim() };
}
