// The fast path of `rsync-auto`: one ssh2 connection with one SFTP session per machine, kept open,
// that writes a burst of changed regular files with no new process on either end (rsync starts
// one on the host and one in the guest per burst, which costs ~400 ms on an emulated guest). Each
// file goes to a temp name in its directory and is renamed over the target, with the host's mode
// and mtime, like `rsync -a`. Anything it does not handle (symlinks, special files, big files, an
// SFTP error) is left to the caller's rsync path.
import { lstat, readFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join, posix } from 'node:path';
import { connect, type SshTarget } from '../ssh/client.js';
import type { Client } from '../ssh/ssh2.js';

export type Sftp = Parameters<Parameters<Client['sftp']>[0]>[1];
type Attrs = { mode: number; atime: number; mtime: number };

/** Files bigger than this go through rsync (its delta transfer pays off there). */
const MAX_FILE = 16 * 1024 * 1024;
const CHUNK = 32 * 1024;
/** Files written at once within a burst. */
const PARALLEL = 8;
/** SFTP status codes (draft-ietf-secsh-filexfer-02). */
const NO_SUCH_FILE = 2;

/** The fast path cannot do this batch: the caller syncs it with rsync instead. */
export class NotForSftp extends Error {}

function errCode(e: unknown): unknown {
  return (e as { code?: unknown } | undefined)?.code;
}

export interface SftpBatch {
  /** Absolute host folder. */
  src: string;
  /** Absolute guest folder. */
  dest: string;
  send: string[];
  /** Already-topmost paths gone from the host; deleted only when `delete`. */
  gone: string[];
  delete: boolean;
  /** The folder's excludes, as rsync applies them to `send` (the watcher already did, mostly). */
  excluded: (rel: string, isDir: boolean | undefined) => boolean;
}

/** One ssh2 connection and SFTP session to a machine, opened on demand and reopened after a loss. */
export class SftpSession {
  private client: Client | undefined;
  private sftp: Sftp | undefined;
  private opening: Promise<void> | undefined;
  private lastAttempt = 0;

  constructor(private readonly target: () => SshTarget | undefined) {}

  get alive(): boolean {
    return this.sftp !== undefined;
  }

  /** Opens the session; failures are thrown (the caller decides whether they matter). */
  async open(timeoutMs = 10_000): Promise<void> {
    this.close();
    this.lastAttempt = Date.now();
    const t = this.target();
    if (t === undefined) throw new NotForSftp('no SSH endpoint known for the machine');
    const { client } = await connect(t, timeoutMs);
    const onGone = () => {
      if (this.client === client) {
        this.client = undefined;
        this.sftp = undefined;
      }
    };
    client.on('close', onGone);
    client.on('end', onGone);
    client.on('error', onGone);
    try {
      const sftp = await new Promise<Sftp>((resolve, reject) =>
        client.sftp((err, s) => (err ? reject(err) : resolve(s))),
      );
      sftp.on('close', onGone);
      this.client = client;
      this.sftp = sftp;
    } catch (e) {
      client.end();
      throw e;
    }
  }

  /** Reopens a session that went away, at most every few seconds; false when there is none. */
  async ensure(): Promise<boolean> {
    if (this.sftp !== undefined) return true;
    if (Date.now() - this.lastAttempt < 5_000) return false;
    this.opening ??= this.open(3_000)
      .catch(() => undefined)
      .finally(() => (this.opening = undefined));
    await this.opening;
    return this.sftp !== undefined;
  }

  close(): void {
    const client = this.client;
    this.client = undefined;
    this.sftp = undefined;
    client?.end();
  }

  /**
   * Sends one folder's burst. Throws NotForSftp (nothing or part done; rsync redoes it all, which
   * is harmless) when something in it needs rsync, or the SFTP error that stopped it.
   */
  async push(b: SftpBatch): Promise<number> {
    const sftp = this.sftp;
    if (sftp === undefined) throw new NotForSftp('no SFTP session');
    return pushBatch(sftp, b);
  }
}

/** SftpSession.push on a given session (exported for tests). */
export async function pushBatch(sftp: Sftp, b: SftpBatch): Promise<number> {
  const files: { rel: string; attrs: Attrs }[] = [];
  const dirs: { rel: string; attrs: Attrs }[] = [];
  for (const rel of b.send) {
    const st = await lstat(join(b.src, rel)).catch(() => undefined);
    if (st === undefined) throw new NotForSftp(`${rel} changed while syncing`);
    if (b.excluded(rel, st.isDirectory())) continue;
    const attrs = { mode: st.mode & 0o7777, atime: st.atimeMs / 1000, mtime: st.mtimeMs / 1000 };
    if (st.isFile() && st.size <= MAX_FILE) files.push({ rel, attrs });
    else if (st.isDirectory()) dirs.push({ rel, attrs });
    else throw new NotForSftp(`${rel} is not a regular file or directory`);
  }
  const guest = (rel: string) => posix.join(b.dest, rel);
  if (b.delete) for (const rel of b.gone) await removeTree(sftp, guest(rel));
  for (const d of dirs) await mkdirs(sftp, guest(d.rel), d.attrs.mode);
  await pool(files, PARALLEL, (f) => putFile(sftp, join(b.src, f.rel), guest(f.rel), f.attrs));
  // Directory times last, since writing into a directory changes its mtime (rsync does the same).
  for (const d of [...dirs].reverse()) await setstat(sftp, guest(d.rel), d.attrs);
  return files.length + dirs.length + (b.delete ? b.gone.length : 0);
}

async function pool<T>(items: T[], n: number, f: (x: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await f(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
}

const call = <R>(f: (cb: (err: Error | null | undefined, r: R) => void) => void) =>
  new Promise<R>((resolve, reject) => f((err, r) => (err ? reject(err) : resolve(r))));

const setstat = (sftp: Sftp, path: string, a: Attrs) =>
  call<void>((cb) => sftp.setstat(path, a, (err) => cb(err, undefined)));

/** mkdir -p: missing parents get mode `mode` too (the caller sets each reported directory's own). */
async function mkdirs(sftp: Sftp, path: string, mode: number): Promise<void> {
  try {
    await call<void>((cb) => sftp.mkdir(path, { mode }, (err) => cb(err, undefined)));
    return;
  } catch (e) {
    // Already there (OpenSSH answers a generic failure), or a parent is missing.
    const st = await call<{ isDirectory(): boolean }>((cb) => sftp.stat(path, cb)).catch(() => undefined);
    if (st?.isDirectory()) return;
    if (st !== undefined || errCode(e) !== NO_SUCH_FILE) throw e;
  }
  const parent = posix.dirname(path);
  if (parent === path) throw new NotForSftp(`cannot create ${path}`);
  await mkdirs(sftp, parent, 0o755);
  await call<void>((cb) => sftp.mkdir(path, { mode }, (err) => cb(err, undefined)));
}

/** Writes `local` to a temp name beside `remote`, sets mode and times, renames it over `remote`. */
async function putFile(sftp: Sftp, local: string, remote: string, a: Attrs): Promise<void> {
  const data = await readFile(local);
  const dir = posix.dirname(remote);
  const tmp = posix.join(dir, `.${posix.basename(remote)}.bfx-${randomBytes(4).toString('hex')}`);
  const openTmp = () => call<Buffer>((cb) => sftp.open(tmp, 'w', { mode: 0o600 }, cb));
  let handle: Buffer;
  try {
    handle = await openTmp();
  } catch (e) {
    if (errCode(e) !== NO_SUCH_FILE) throw e;
    await mkdirs(sftp, dir, 0o755);
    handle = await openTmp();
  }
  try {
    const writes: Promise<void>[] = [];
    for (let off = 0; off < data.length; off += CHUNK) {
      const len = Math.min(CHUNK, data.length - off);
      writes.push(call<void>((cb) => sftp.write(handle, data, off, len, off, (err) => cb(err, undefined))));
    }
    await Promise.all(writes);
    // After the writes (the server runs requests in order), so the mtime stays the host's.
    await call<void>((cb) => sftp.fsetstat(handle, a, (err) => cb(err, undefined)));
  } catch (e) {
    await call<void>((cb) => sftp.close(handle, (err) => cb(err, undefined))).catch(() => undefined);
    await call<void>((cb) => sftp.unlink(tmp, (err) => cb(err, undefined))).catch(() => undefined);
    throw e;
  }
  await call<void>((cb) => sftp.close(handle, (err) => cb(err, undefined)));
  try {
    await rename(sftp, tmp, remote);
  } catch (e) {
    await call<void>((cb) => sftp.unlink(tmp, (err) => cb(err, undefined))).catch(() => undefined);
    throw e;
  }
}

async function rename(sftp: Sftp, from: string, to: string): Promise<void> {
  let unsupported = false;
  try {
    await call<void>((cb) => {
      try {
        sftp.ext_openssh_rename(from, to, (err) => cb(err, undefined));
      } catch (e) {
        unsupported = true; // the server lacks posix-rename@openssh.com: ssh2 throws at once
        throw e;
      }
    });
    return;
  } catch (e) {
    if (!unsupported) throw e;
  }
  // Plain SFTP rename refuses an existing target: unlink it first (not atomic, but brief).
  await call<void>((cb) => sftp.unlink(to, (err) => cb(err, undefined))).catch((e: unknown) => {
    if (errCode(e) !== NO_SUCH_FILE) throw e;
  });
  await call<void>((cb) => sftp.rename(from, to, (err) => cb(err, undefined)));
}

/** rm -rf over SFTP; a path already gone is fine. */
async function removeTree(sftp: Sftp, path: string): Promise<void> {
  const st = await call<{ isDirectory(): boolean }>((cb) => sftp.lstat(path, cb)).catch((e: unknown) => {
    if (errCode(e) === NO_SUCH_FILE) return undefined;
    throw e;
  });
  if (st === undefined) return;
  if (!st.isDirectory()) {
    await call<void>((cb) => sftp.unlink(path, (err) => cb(err, undefined)));
    return;
  }
  const entries = await call<{ filename: string }[]>((cb) => sftp.readdir(path, cb));
  for (const e of entries)
    if (e.filename !== '.' && e.filename !== '..') await removeTree(sftp, posix.join(path, e.filename));
  await call<void>((cb) => sftp.rmdir(path, (err) => cb(err, undefined)));
}
