/**
 * Files that arrive as a request body (imports, tag files, segment lists): streamed into a private
 * directory of the data directory (0700, files 0600, never /tmp), refused with 413 as soon as they
 * pass the size allowed for their kind, and removed if the upload fails or is cut off.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import type { Readable } from 'node:stream';
import { fileLimits, type FileLimits } from './file-limits.ts';
import { ApiError } from './errors.ts';

export class UploadTooLargeError extends ApiError {
  override name = 'UploadTooLargeError';
  constructor(kind: string, limitBytes: number) {
    super(
      413,
      'upload_too_large',
      `the file is larger than the ${Math.round(limitBytes / (1024 * 1024))} MB allowed for ${kind} uploads (see SIYU_UPLOAD_MAX_MB and SIYU_UPLOAD_XLSX_MAX_MB)`,
    );
  }
}

class UploadAbortedError extends ApiError {
  override name = 'UploadAbortedError';
  constructor() {
    super(400, 'upload_aborted', 'the upload was cut off before its end');
  }
}

/** A directory only this user can enter, created if missing and tightened if it was left open. */
export function privateDirectory(dir: string): string {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  fs.chmodSync(dir, 0o700);
  return dir;
}

let fallbackDir: string | undefined;
/** Where uploads wait: `<data>/uploads`, or (stores opened without a data directory) a private temp directory. */
export function uploadsDirOf(dataDir: string | undefined): string {
  if (dataDir) return privateDirectory(path.join(dataDir, 'uploads'));
  fallbackDir ??= fs.mkdtempSync(path.join(os.tmpdir(), 'siyu-uploads-'));
  return privateDirectory(fallbackDir);
}

/** Where temporary files (exports on their way out) are written: `<data>/tmp`, 0700, never the shared /tmp. */
export function temporaryDirOf(dataDir: string | undefined): string {
  return dataDir ? privateDirectory(path.join(dataDir, 'tmp')) : uploadsDirOf(undefined);
}

const ZIP_MAGIC = Buffer.from([0x50, 0x4b, 0x03, 0x04]);

/** The size an upload may have, chosen by its first bytes (an XLSX is a zip), not by its claimed name. */
function limitFor(head: Buffer, limits: FileLimits): { kind: string; bytes: number } {
  return head.subarray(0, 4).equals(ZIP_MAGIC) ? { kind: 'XLSX', bytes: limits.xlsxUploadBytes } : { kind: 'CSV, TSV and JSON lines', bytes: limits.uploadBytes };
}

/**
 * Streams a request body into `file` (created 0600; it must not exist). Throws UploadTooLargeError
 * the moment the body passes its limit (or at once when Content-Length says it will), and
 * UploadAbortedError when the client goes away; in both cases the partial file is removed.
 */
export async function receiveUpload(body: Readable, file: string, limits: FileLimits = fileLimits()): Promise<{ bytes: number }> {
  const declared = Number((body as Readable & { headers?: Record<string, string | undefined> }).headers?.['content-length']);
  const largest = Math.max(limits.uploadBytes, limits.xlsxUploadBytes);
  if (declared > largest) {
    body.resume(); // discard what is sent; the answer goes out at once
    throw new UploadTooLargeError('any', largest);
  }
  const out = fs.createWriteStream(file, { flags: 'wx', mode: 0o600 });
  let bytes = 0;
  let limit: { kind: string; bytes: number } | undefined;
  let head = Buffer.alloc(0);
  try {
    await new Promise<void>((resolve, reject) => {
      let settled = false;
      const fail = (error: Error) => {
        if (settled) return;
        settled = true;
        body.off('data', onData);
        body.resume(); // the rest of the body is read and dropped, so the 413 can be answered
        reject(error);
      };
      const onData = (chunk: Buffer) => {
        bytes += chunk.length;
        if (!limit) {
          head = Buffer.concat([head, chunk]);
          if (head.length >= 4) limit = limitFor(head, limits);
        }
        if (limit && bytes > limit.bytes) return fail(new UploadTooLargeError(limit.kind, limit.bytes));
        if (!out.write(chunk)) {
          body.pause();
          out.once('drain', () => body.resume());
        }
      };
      body.on('data', onData);
      body.once('error', () => fail(new UploadAbortedError()));
      body.once('aborted', () => fail(new UploadAbortedError()));
      body.once('close', () => {
        if (!body.readableEnded) fail(new UploadAbortedError());
      });
      body.once('end', () => {
        if (settled) return;
        settled = true;
        out.end(() => resolve());
      });
      out.once('error', fail);
    });
  } catch (error) {
    // Closed before removed, so a pending open or write cannot bring the file back.
    if (!out.closed) await new Promise<void>((resolve) => out.destroy().once('close', () => resolve()));
    await fs.promises.rm(file, { force: true });
    throw error;
  }
  return { bytes };
}

/** A request whose body is a file: received into the uploads directory, handed over, then removed. */
export async function withUploadedFile<T>(body: unknown, fn: (file: string) => Promise<T>, dataDir?: string): Promise<T> {
  const file = path.join(uploadsDirOf(dataDir), `upload-${crypto.randomBytes(8).toString('hex')}`);
  try {
    await receiveUpload(body as Readable, file);
    return await fn(file);
  } finally {
    fs.rmSync(file, { force: true });
  }
}
