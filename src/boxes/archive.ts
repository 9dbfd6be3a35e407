// Vagrant .box archives (tar, or tar compressed with gzip) unpacked with node-tar. Only regular
// files and directories under the unpack directory are accepted: a member with an absolute
// path, a `..` segment, a link or a device refuses the whole archive, and the caller removes the
// directory, so nothing of it is left behind.
import { openSync, readSync, closeSync } from 'node:fs';
import { BoxfestError, errorMessage } from '../errors.js';

/** What the first bytes of a file say it is. */
export type Sniffed = 'gzip' | 'tar' | 'bzip2' | 'xz' | 'zip' | 'json' | 'other';

export function sniff(file: string): Sniffed {
  const fd = openSync(file, 'r');
  const buf = Buffer.alloc(512);
  let n: number;
  try {
    n = readSync(fd, buf, 0, 512, 0);
  } finally {
    closeSync(fd);
  }
  const b = buf.subarray(0, n);
  if (b[0] === 0x1f && b[1] === 0x8b) return 'gzip';
  if (b.subarray(0, 3).toString('latin1') === 'BZh') return 'bzip2';
  if (b.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return 'xz';
  if (b.subarray(0, 4).equals(Buffer.from([0x50, 0x4b, 0x03, 0x04]))) return 'zip';
  if (n >= 262 && b.subarray(257, 262).toString('latin1') === 'ustar') return 'tar';
  if (/^\s*\{/.test(b.subarray(0, 64).toString('latin1'))) return 'json';
  return 'other';
}

const ALLOWED_TYPES = new Set(['File', 'OldFile', 'ContiguousFile', 'Directory']);

/** Why a member may not be unpacked, or undefined. */
export function hostileMember(path: string, type: string): string | undefined {
  if (!ALLOWED_TYPES.has(type)) return `it is a ${type}, not a regular file or directory`;
  if (path.startsWith('/') || /^[a-zA-Z]:/.test(path)) return 'its path is absolute';
  if (path.split(/[/\\]/).includes('..')) return 'its path leaves the archive (`..`)';
  if ([...path].some((ch) => ch.charCodeAt(0) < 0x20)) return 'its path has control characters';
  return undefined;
}

/** Unpacks `file` into the (empty) directory `dest`; throws on anything hostile or broken. */
export async function unpackBox(file: string, dest: string, source: string): Promise<void> {
  const kind = sniff(file);
  if (kind === 'zip' || kind === 'bzip2' || kind === 'xz')
    throw new BoxfestError(
      'BOX_ARCHIVE',
      `${source} is a ${kind} archive; boxfest reads .box files that are tar or tar.gz`,
      {
        hint: `repack it: unpack it and run \`tar czf NAME.box metadata.json ...\` in that directory`,
      },
    );
  const { x } = await import('tar');
  const refused: string[] = [];
  try {
    await x({
      file,
      cwd: dest,
      strict: true,
      preserveOwner: false,
      // Paths are never rewritten (no stripping of `/` or `..`): such a member refuses the archive.
      preservePaths: true,
      filter: (path, entry) => {
        const type = 'type' in entry ? entry.type : 'File';
        const why = hostileMember(path, type);
        if (why !== undefined) refused.push(`${JSON.stringify(path).slice(1, -1)}: ${why}`);
        return why === undefined && refused.length === 0;
      },
    });
  } catch (e) {
    if (refused.length === 0)
      throw new BoxfestError('BOX_ARCHIVE', `${source} is not a complete tar archive: ${errorMessage(e)}`, {
        hint: 'the file is truncated or damaged: download it again (a URL with a checksum is verified)',
      });
  }
  if (refused.length > 0)
    throw new BoxfestError(
      'BOX_ARCHIVE_HOSTILE',
      `${source} has members boxfest will not unpack; nothing of it was kept`,
      {
        details: refused.join('\n'),
        hint: 'a box holds only regular files (metadata.json, box.img, Vagrantfile, ...) at relative paths',
      },
    );
}
