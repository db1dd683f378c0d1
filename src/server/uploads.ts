/** A request whose body is a file: streamed to a temporary file, handed over, then removed. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export async function withUploadedFile<T>(body: unknown, fn: (file: string) => Promise<T>): Promise<T> {
  const file = path.join(os.tmpdir(), `siyu-upload-${crypto.randomBytes(8).toString('hex')}`);
  try {
    await pipeline(body as Readable, fs.createWriteStream(file));
    return await fn(file);
  } finally {
    fs.rmSync(file, { force: true });
  }
}
