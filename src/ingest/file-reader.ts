/**
 * Reads an import file as a stream of rows, whatever it is: CSV or TSV (any delimiter), XLSX, JSON
 * lines, optionally gzip-compressed, in UTF-8 (with or without BOM) or GB18030/GBK. It says what it
 * detected so the summary can tell the user.
 */
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { createRequire } from 'node:module';
import { pipeline, Transform, type Duplex, type Readable } from 'node:stream';
import { pipeline as pipelineAsync } from 'node:stream/promises';
import iconv from 'iconv-lite';
import { parse } from 'csv-parse';
import ExcelJS from 'exceljs';
import { fileLimits, type FileLimits } from '../kernel/file-limits.ts';

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
  /** Set on a row longer than SIYU_IMPORT_MAX_RECORD_KB (its length in characters); its values are not kept. */
  tooLong?: number;
}

export interface JsonLine {
  rowNumber: number;
  text: string;
  /** Set on a line longer than SIYU_IMPORT_MAX_RECORD_KB (its length in characters); its text is not kept. */
  tooLong?: number;
}

/** What a quarantined over-long record says. */
export function recordTooLongReason(length: number, limits: FileLimits = fileLimits()): string {
  return `${length.toLocaleString('en-US')} characters, longer than the ${Math.round(limits.recordBytes / 1024)} KB a record may be (SIYU_IMPORT_MAX_RECORD_KB)`;
}

export class FileFormatError extends Error {
  override name = 'FileFormatError';
}

const SAMPLE_BYTES = 256 * 1024;

/** Output a sniff may unpack from a gzip head: a bomb's first kilobytes stop here, not in memory. */
const SNIFF_UNPACK_BYTES = 16 * 1024 * 1024;

function readHead(file: string, gzip: boolean): Buffer {
  const fd = fs.openSync(file, 'r');
  try {
    const raw = Buffer.alloc(gzip ? 64 * 1024 : SAMPLE_BYTES);
    const read = fs.readSync(fd, raw, 0, raw.length, 0);
    if (!gzip) return raw.subarray(0, read);
    // Decompress growing prefixes of the head (a truncated stream is fine for sniffing) until the
    // sample is full: deflate unpacks at most ~1000:1, so 8 KB in cannot pass the bound.
    let out = Buffer.alloc(0);
    for (const size of [1024, 8 * 1024, 64 * 1024]) {
      try {
        out = zlib.gunzipSync(raw.subarray(0, Math.min(size, read)), { finishFlush: zlib.constants.Z_SYNC_FLUSH, maxOutputLength: SNIFF_UNPACK_BYTES });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') break;
        throw new FileFormatError(`${path.basename(file)}: not a readable gzip file (${(error as Error).message})`);
      }
      if (out.length >= SAMPLE_BYTES || size >= read) break;
    }
    return out.subarray(0, SAMPLE_BYTES);
  } finally {
    fs.closeSync(fd);
  }
}

const MB = 1024 * 1024;
const megabytes = (bytes: number) => `${Math.round(bytes / MB)} MB`;

/** Passes bytes through; past `limit` the stream fails with the error `tooMuch` makes. */
function byteLimit(limit: number, tooMuch: () => Error): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      seen += chunk.length;
      if (seen > limit) done(tooMuch());
      else done(null, chunk);
    },
  });
}

/** Streams joined so that an error in any of them fails the last (the one the reader iterates), never an unheard one. */
function chain(first: Readable, ...rest: Duplex[]): Readable {
  if (rest.length === 0) return first;
  return pipeline([first, ...rest], () => undefined) as unknown as Readable;
}

function unpackedTooLarge(shape: FileShape, limits: FileLimits): FileFormatError {
  return new FileFormatError(`${path.basename(shape.path)}: unpacks to more than ${megabytes(limits.unpackedBytes)} (SIYU_UNPACKED_MAX_MB); refused as a possible gzip bomb`);
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

function detectEncoding(sample: Buffer): TextEncoding {
  if (sample[0] === 0xef && sample[1] === 0xbb && sample[2] === 0xbf) return 'utf-8-bom';
  if (sample[0] === 0xff && sample[1] === 0xfe) return 'utf-16le';
  return isUtf8(sample) ? 'utf-8' : 'gb18030';
}

/** The delimiter that splits the header line into the most fields (quotes respected). */
function detectDelimiter(firstLine: string): string {
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

function byteStream(shape: FileShape, limits: FileLimits = fileLimits()): Readable {
  const raw = fs.createReadStream(shape.path, { highWaterMark: 1 << 20 });
  if (!shape.gzip) return raw;
  return chain(
    raw,
    zlib.createGunzip(),
    byteLimit(limits.unpackedBytes, () => unpackedTooLarge(shape, limits)),
  );
}

/**
 * Reads a gzip file to its end without keeping it, and throws if it unpacks past the bound: for
 * readers that take the file whole (ClickHouse's file()) and cannot be stopped midway.
 */
export async function checkUnpackedSize(shape: FileShape): Promise<void> {
  if (!shape.gzip) return;
  for await (const _chunk of byteStream(shape)) {
    // counted by byteStream's limit
  }
}

/**
 * Reads a file to its end without keeping it (within SIYU_UNPACKED_MAX_MB when gzip) and throws if
 * a line is longer than SIYU_IMPORT_MAX_RECORD_KB (a record holds its lines, so no record is longer
 * either): for readers that take the file whole (ClickHouse's file()). Linear: each chunk is searched once.
 */
export async function checkRecordLengths(shape: FileShape): Promise<void> {
  const limits = fileLimits();
  let line = 1;
  let length = 0;
  for await (const chunk of byteStream(shape, limits)) {
    const bytes = chunk as Buffer;
    let start = 0;
    for (let end = bytes.indexOf(10, start); end !== -1; end = bytes.indexOf(10, start)) {
      if (length + end - start > limits.recordBytes) break;
      line++;
      length = 0;
      start = end + 1;
    }
    length += bytes.length - start;
    if (length > limits.recordBytes) {
      throw new FileFormatError(
        `${path.basename(shape.path)}: line ${line}: longer than the ${Math.round(limits.recordBytes / 1024)} KB a record may be (SIYU_IMPORT_MAX_RECORD_KB); the file is refused`,
      );
    }
  }
}

function textStream(shape: FileShape, limits: FileLimits = fileLimits()): Readable {
  const bytes = byteStream(shape, limits);
  switch (shape.encoding) {
    case 'gb18030':
      return chain(bytes, iconv.decodeStream('gb18030') as unknown as Duplex);
    case 'utf-16le':
      return chain(bytes, iconv.decodeStream('utf-16le') as unknown as Duplex);
    default:
      return chain(bytes, iconv.decodeStream('utf-8') as unknown as Duplex); // strips a BOM
  }
}

function cellText(value: ExcelJS.CellValue): string {
  if (value === null || value === undefined) return '';
  if (value instanceof Date)
    return value
      .toISOString()
      .replace('T', ' ')
      .replace(/\.000Z$/, '')
      .replace('Z', '');
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
    yield* readXlsxRows(shape);
    return;
  }
  const limits = fileLimits();
  const parser = chain(
    textStream(shape, limits),
    // A record past the bound stops the parser (it cannot find the record's end without reading it).
    parse({
      delimiter: shape.delimiter ?? ',',
      relax_column_count: true,
      relax_quotes: true,
      skip_empty_lines: true,
      info: true,
      trim: false,
      max_record_size: limits.recordBytes,
    }),
  );
  try {
    for await (const record of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
      const values = record.record.map((v) => v.trim());
      // Space-separated columns: a run of spaces is one separator, so empty cells are not columns.
      yield { rowNumber: record.info.lines, values: shape.delimiter === ' ' ? values.filter((v) => v !== '') : values };
    }
  } catch (error) {
    if ((error as { code?: string }).code === 'CSV_MAX_RECORD_SIZE') {
      const line = (error as { lines?: number }).lines;
      throw new FileFormatError(
        `${path.basename(shape.path)}: row ${line ?? '?'}: a record longer than the ${Math.round(limits.recordBytes / 1024)} KB a record may be (SIYU_IMPORT_MAX_RECORD_KB; an unclosed quote makes one too); the file is read no further`,
      );
    }
    throw error;
  }
}

/** Every non-empty line of a JSON-lines file. */
export async function* readJsonLines(shape: FileShape): AsyncGenerator<JsonLine> {
  const limits = fileLimits();
  const max = limits.recordBytes;
  // The unfinished line: its pieces (each chunk is searched once, never the whole line again) and
  // its length; past the bound the pieces are let go and only the length is counted.
  let pieces: string[] = [];
  let length = 0;
  let line = 0;
  const finish = (tail: string, tailLength = tail.length): JsonLine | undefined => {
    const total = length + tailLength;
    const rowNumber = line;
    const text = total > max ? '' : (pieces.join('') + tail).trim();
    pieces = [];
    length = 0;
    if (total > max) return { rowNumber, text: '', tooLong: total };
    return text ? { rowNumber, text } : undefined;
  };
  for await (const chunk of textStream(shape, limits)) {
    const text = chunk as string;
    let start = 0;
    for (let end = text.indexOf('\n', start); end !== -1; end = text.indexOf('\n', start)) {
      line++;
      const done = length + end - start > max ? finish('', end - start) : finish(text.slice(start, end));
      if (done) yield done;
      start = end + 1;
    }
    const tail = text.length - start;
    if (length + tail <= max) pieces.push(text.slice(start));
    else pieces = [];
    length += tail;
  }
  line++;
  const last = finish('');
  if (last) yield last;
}

interface ZipDirectory {
  files: Array<{ path: string; uncompressedSize: number; stream(): Readable }>;
}
// unzipper (exceljs's own unzip library) ships no types: the one call used here is typed above.
const unzipper = createRequire(import.meta.url)('unzipper') as { Open: { file(file: string): Promise<ZipDirectory> } };
const openZip = (file: string) => unzipper.Open.file(file);

/** exceljs's reader as it is built inside: the two steps that unpack a part, wrapped below with bounds. */
interface WorkbookReaderInternals {
  sharedStrings?: unknown[];
  _parseRels(entry: Readable): Promise<void>;
  _parseWorkbook(entry: Readable): Promise<void>;
  _parseSharedStrings(entry: Readable): AsyncGenerator<unknown>;
  _parseWorksheet(iterator: AsyncIterable<Buffer>, sheetNo: string): Generator<unknown>;
}
const exceljsReader = ExcelJS.stream.xlsx.WorkbookReader.prototype as unknown as WorkbookReaderInternals;
const MAX_ZIP_ENTRIES = 10_000;

/**
 * exceljs's streaming reader, bounded: the shared strings (held in memory while the sheet is read)
 * may unpack to SIYU_XLSX_SHARED_STRINGS_MAX_MB, everything read to SIYU_UNPACKED_MAX_MB, counted on
 * the bytes actually unpacked (a zip may lie about its sizes). The zip's directory is checked first,
 * and the workbook's relations and shared strings are read from it before the sheet, so the sheet
 * streams straight through instead of through a temp file.
 */
class BoundedWorkbookReader extends ExcelJS.stream.xlsx.WorkbookReader {
  private unpacked = 0;
  private stringsPreloaded = false;
  private readonly fileName: string;
  private readonly limits: FileLimits;

  constructor(input: Readable, fileName: string, limits: FileLimits) {
    super(input, { sharedStrings: 'cache', worksheets: 'emit', styles: 'ignore', hyperlinks: 'ignore' });
    this.fileName = fileName;
    this.limits = limits;
  }

  async preload(file: string): Promise<void> {
    let directory: ZipDirectory;
    try {
      directory = await openZip(file);
    } catch (error) {
      throw new FileFormatError(`${this.fileName}: not a readable XLSX file (${(error as Error).message})`);
    }
    if (directory.files.length > MAX_ZIP_ENTRIES)
      throw new FileFormatError(`${this.fileName}: ${directory.files.length} parts in the zip; an XLSX file has at most ${MAX_ZIP_ENTRIES}`);
    const declared = directory.files.reduce((sum, f) => sum + f.uncompressedSize, 0);
    if (declared > this.limits.unpackedBytes) throw this.tooLarge('its parts unpack', declared, this.limits.unpackedBytes, 'SIYU_UNPACKED_MAX_MB');
    const part = (name: string) => directory.files.find((f) => f.path === name);
    const self = this as unknown as WorkbookReaderInternals;
    // The sheets' names and relations, read first so the sheet is read as it streams by.
    const small = (entry: { stream(): Readable }) =>
      chain(
        entry.stream(),
        byteLimit(this.limits.sharedStringsBytes, () => this.tooLarge('its workbook part unpacks', undefined, this.limits.sharedStringsBytes, 'SIYU_XLSX_SHARED_STRINGS_MAX_MB')),
      );
    const rels = part('xl/_rels/workbook.xml.rels');
    const book = part('xl/workbook.xml');
    if (!rels || !book) throw new FileFormatError(`${this.fileName}: not an XLSX workbook (no xl/workbook.xml)`);
    await exceljsReader._parseRels.call(this, small(rels));
    await exceljsReader._parseWorkbook.call(this, small(book));
    const strings = part('xl/sharedStrings.xml');
    if (strings) {
      if (strings.uncompressedSize > this.limits.sharedStringsBytes)
        throw this.tooLarge('its shared strings unpack', strings.uncompressedSize, this.limits.sharedStringsBytes, 'SIYU_XLSX_SHARED_STRINGS_MAX_MB');
      for await (const _ of self._parseSharedStrings(strings.stream())) {
        // cached by exceljs into this.sharedStrings
      }
    } else self.sharedStrings = [];
    this.stringsPreloaded = true;
  }

  _parseRels(entry: Readable): Promise<void> {
    return this.stringsPreloaded ? Promise.resolve() : exceljsReader._parseRels.call(this, entry);
  }

  _parseWorkbook(entry: Readable): Promise<void> {
    return this.stringsPreloaded ? Promise.resolve() : exceljsReader._parseWorkbook.call(this, entry);
  }

  _parseSharedStrings(entry: Readable): AsyncGenerator<unknown> {
    // Already read from the directory: the stream's copy is drained by exceljs unread.
    if (this.stringsPreloaded) return (async function* () {})();
    const limit = this.limits.sharedStringsBytes;
    const bounded = chain(
      entry,
      byteLimit(limit, () => this.tooLarge('its shared strings unpack', undefined, limit, 'SIYU_XLSX_SHARED_STRINGS_MAX_MB')),
    );
    return exceljsReader._parseSharedStrings.call(this, bounded);
  }

  _parseWorksheet(iterator: AsyncIterable<Buffer>, sheetNo: string): Generator<unknown> {
    return exceljsReader._parseWorksheet.call(this, this.counted(iterator), sheetNo);
  }

  private async *counted(iterator: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    for await (const chunk of iterator) {
      this.unpacked += chunk.length;
      if (this.unpacked > this.limits.unpackedBytes) throw this.tooLarge('its sheet unpacks', undefined, this.limits.unpackedBytes, 'SIYU_UNPACKED_MAX_MB');
      yield chunk;
    }
  }

  /** `unpacking` says what and its verb ("its sheet unpacks"). */
  private tooLarge(unpacking: string, bytes: number | undefined, limit: number, setting: string): FileFormatError {
    const size = bytes === undefined ? `more than ${megabytes(limit)}` : `${megabytes(bytes)}, more than the ${megabytes(limit)} allowed`;
    return new FileFormatError(`${this.fileName}: ${unpacking} to ${size} (${setting}); refused as a possible zip bomb`);
  }
}

/**
 * A gzip-wrapped XLSX is unpacked (within SIYU_UNPACKED_MAX_MB) beside it, private, so it is read
 * like any XLSX, its directory checked first (exceljs, reading a zip stream, would park a sheet it
 * meets before the shared strings in an unbounded temp file).
 */
async function unpackedXlsx(shape: FileShape, limits: FileLimits): Promise<string> {
  const file = path.join(path.dirname(shape.path), `.${path.basename(shape.path)}.${process.pid}-${Date.now()}.xlsx`);
  try {
    await pipelineAsync(byteStream(shape, limits), fs.createWriteStream(file, { flags: 'wx', mode: 0o600 }));
  } catch (error) {
    fs.rmSync(file, { force: true });
    if (error instanceof FileFormatError) throw error;
    throw new FileFormatError(`${path.basename(shape.path)}: a gzip-compressed XLSX could not be unpacked beside it (${(error as Error).message}); gunzip it and import the .xlsx`);
  }
  return file;
}

async function* readXlsxRows(shape: FileShape): AsyncGenerator<SourceRow> {
  const limits = fileLimits();
  const file = shape.gzip ? await unpackedXlsx(shape, limits) : shape.path;
  const input = fs.createReadStream(file);
  const workbook = new BoundedWorkbookReader(input, path.basename(shape.path), limits);
  try {
    await workbook.preload(file);
    for await (const worksheet of workbook) {
      let width = 0;
      for await (const row of worksheet as AsyncIterable<ExcelJS.Row>) {
        const cells = (row.values as ExcelJS.CellValue[]).slice(1);
        if (row.number === 1) width = cells.length;
        const values: string[] = [];
        let length = 0;
        for (let i = 0; i < Math.max(width, cells.length); i++) {
          const text = cellText(cells[i]).trim();
          length += text.length;
          values.push(text);
        }
        yield length > limits.recordBytes ? { rowNumber: row.number, values: [], tooLong: length } : { rowNumber: row.number, values };
      }
      break; // the first worksheet only
    }
  } finally {
    input.destroy();
    if (file !== shape.path) fs.rmSync(file, { force: true });
  }
}
