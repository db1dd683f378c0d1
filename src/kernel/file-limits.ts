import { intFromEnv } from './env.ts';
import { ConfigError } from './errors.ts';

/** Bounds on files taken in (uploads) and on what reading them may unpack to, in bytes. */
export interface FileLimits {
  uploadBytes: number;
  xlsxUploadBytes: number;
  unpackedBytes: number;
  sharedStringsBytes: number;
  /** Longest record (JSON line, CSV record, XLSX row) an import reads. */
  recordBytes: number;
}

const MB = 1024 * 1024;

/** Read when a file is taken in or read (not once per process), so a test or an operator can change them without a restart. */
export function fileLimits(env: NodeJS.ProcessEnv = process.env): FileLimits {
  const positive = (name: string, fallback: number) => {
    const value = intFromEnv(name, fallback, env);
    if (value === 0) throw new ConfigError(`${name} must be at least 1 (megabytes), got 0`);
    return value;
  };
  const uploadMb = positive('SIYU_UPLOAD_MAX_MB', 2048);
  return {
    uploadBytes: uploadMb * MB,
    xlsxUploadBytes: positive('SIYU_UPLOAD_XLSX_MAX_MB', 200) * MB,
    unpackedBytes: positive('SIYU_UNPACKED_MAX_MB', 20 * uploadMb) * MB,
    sharedStringsBytes: positive('SIYU_XLSX_SHARED_STRINGS_MAX_MB', 100) * MB,
    recordBytes: recordKb(env) * 1024,
  };
}

function recordKb(env: NodeJS.ProcessEnv): number {
  const value = intFromEnv('SIYU_IMPORT_MAX_RECORD_KB', 1024, env);
  if (value === 0) throw new ConfigError('SIYU_IMPORT_MAX_RECORD_KB must be at least 1 (kilobytes), got 0');
  return value;
}
