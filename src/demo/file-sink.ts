import fs from 'node:fs';
import path from 'node:path';
import iconv from 'iconv-lite';
import { DEMO_FILES, DEMO_FILE_KEYS, type DemoFileKey, type FileEncoding } from './formats.ts';
import type { RowSink } from './generator.ts';

const BLOCK_BYTES = 4 << 20;
/** Longest line we expect is a few KiB; a block flushes before a line could overflow it. */
const HEADROOM = 64 << 10;

export function encode(text: string, encoding: FileEncoding): Buffer {
  return encoding === 'gb18030' ? iconv.encode(text, 'gb18030') : Buffer.from(text, 'utf8');
}

interface Pending {
  fd: number;
  encoding: FileEncoding;
  /** UTF-8 files: bytes written straight into a block (no string building, little garbage). */
  block?: Buffer;
  used: number;
  /** GB18030 files: lines joined and encoded per block. */
  lines?: string[];
  chars: number;
}

/** Writes each file in 4 MiB blocks, encoded as the file's platform encodes it. */
export class FileSink implements RowSink {
  private readonly pending = new Map<DemoFileKey, Pending>();
  readonly rows: Record<DemoFileKey, number>;
  private readonly pathFor: (file: DemoFileKey) => string;

  constructor(pathFor: (file: DemoFileKey) => string) {
    this.pathFor = pathFor;
    this.rows = Object.fromEntries(DEMO_FILE_KEYS.map((k) => [k, 0])) as Record<DemoFileKey, number>;
  }

  private open(file: DemoFileKey): Pending {
    const encoding = DEMO_FILES[file].encoding;
    const entry: Pending =
      encoding === 'gb18030'
        ? { fd: fs.openSync(this.pathFor(file), 'w'), encoding, used: 0, lines: [], chars: 0 }
        : { fd: fs.openSync(this.pathFor(file), 'w'), encoding, used: 0, block: Buffer.allocUnsafe(BLOCK_BYTES + HEADROOM), chars: 0 };
    this.pending.set(file, entry);
    return entry;
  }

  write(file: DemoFileKey, line: string): void {
    const entry = this.pending.get(file) ?? this.open(file);
    this.rows[file]++;
    if (entry.block) {
      if (line.length * 3 + 1 > HEADROOM) {
        this.flush(entry);
        fs.writeSync(entry.fd, line + '\n');
        return;
      }
      entry.used += entry.block.write(line, entry.used, 'utf8');
      entry.block[entry.used++] = 0x0a;
      if (entry.used >= BLOCK_BYTES) this.flush(entry);
    } else {
      entry.lines!.push(line);
      entry.chars += line.length + 1;
      if (entry.chars >= BLOCK_BYTES / 2) this.flush(entry);
    }
  }

  private flush(entry: Pending): void {
    if (entry.block) {
      if (entry.used > 0) fs.writeSync(entry.fd, entry.block, 0, entry.used);
      entry.used = 0;
    } else if (entry.lines && entry.lines.length > 0) {
      fs.writeSync(entry.fd, encode(entry.lines.join('\n') + '\n', entry.encoding));
      entry.lines = [];
      entry.chars = 0;
    }
  }

  close(): void {
    for (const entry of this.pending.values()) {
      this.flush(entry);
      fs.closeSync(entry.fd);
    }
    this.pending.clear();
  }
}

export function partPath(directory: string, file: DemoFileKey, shard: number): string {
  return path.join(directory, `${file}.${shard}.part`);
}
