// boxfest's own files: written whole or not at all, and read back without being taken on faith.
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  constants,
  fstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  writeFileSync,
} from 'node:fs';
import { dirname } from 'node:path';
import { BoxfestError, errorMessage, type ErrorCode } from '../errors.js';

/** Write-then-rename, so a crash leaves either the old file or the new one, never half of one. */
export function writeFileAtomic(file: string, data: string | Buffer, mode = 0o644): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  writeFileSync(tmp, data, { mode, flag: 'wx' });
  chmodSync(tmp, mode); // the umask may have narrowed or widened it
  renameSync(tmp, file);
}

export function writeJsonAtomic(file: string, value: unknown): void {
  writeFileAtomic(file, JSON.stringify(value, null, 2) + '\n');
}

/** undefined when the file does not exist. */
export function readJson<T>(file: string): T | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  return JSON.parse(text) as T;
}

// Reading boxfest's own state files (state.json, leases.json, ports.json): never through a
// symlink (O_NOFOLLOW), never a FIFO or device (checked on the descriptor, opened without
// blocking), and JSON of the expected shape, or a clear error naming the file and what to do. A
// truncated or hand-edited file must never become a stack trace.

export interface OwnFile {
  /** Error code when the file is unusable, e.g. STATE_CORRUPT. */
  code: ErrorCode;
  /** What the file is, for the message: "machine state", "address leases". */
  what: string;
  /** What the user can do about it. */
  hint: string;
}

/** Why `value` is not of the expected shape, or undefined when it is. */
export type ShapeCheck = (value: unknown) => string | undefined;

/** The file's JSON when it has the shape `check` wants; undefined when it does not exist. */
export function readOwnJson<T>(file: string, about: OwnFile, check: ShapeCheck): T | undefined {
  const text = readOwnText(file, about);
  if (text === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw corrupt(file, about, text.trim() === '' ? 'it is empty' : `it is not JSON (${errorMessage(e)})`);
  }
  const why = check(value);
  if (why !== undefined) throw corrupt(file, about, why);
  return value as T;
}

/** The file's text; undefined when it does not exist. */
export function readOwnText(file: string, about: OwnFile): string | undefined {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    throw corrupt(
      file,
      about,
      code === 'ELOOP' ? 'it is a symbolic link, and boxfest never follows one' : errorMessage(e),
    );
  }
  try {
    if (!fstatSync(fd).isFile()) throw corrupt(file, about, 'it is not a regular file');
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}

function corrupt(file: string, about: OwnFile, why: string): BoxfestError {
  return new BoxfestError(about.code, `${file} is not a usable ${about.what}: ${why}`, { hint: about.hint });
}

// Small shape checks: enough that every field the code reads has the type it expects.

export const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** `fields`: name → expected `typeof` (suffix `?` when optional, `array` for a list). */
export function fieldsProblem(v: unknown, fields: Record<string, string>, where = ''): string | undefined {
  if (!isObject(v)) return `${where === '' ? 'it' : where} is not a JSON object`;
  for (const [name, want] of Object.entries(fields)) {
    const optional = want.endsWith('?');
    const type = optional ? want.slice(0, -1) : want;
    const value = v[name];
    if (value === undefined) {
      if (optional) continue;
      return `\`${where}${name}\` is missing`;
    }
    const ok =
      type === 'array' ? Array.isArray(value) : type === 'object' ? isObject(value) : typeof value === type;
    if (!ok)
      return `\`${where}${name}\` is not ${type === 'array' || type === 'object' ? `an ${type}` : `a ${type}`}`;
  }
  return undefined;
}
