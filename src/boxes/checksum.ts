// Checksums of box files: the types Vagrant and its catalogs use, written `TYPE:HEX`.
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { BoxfestError } from '../errors.js';

export const CHECKSUM_TYPES = ['sha256', 'sha512', 'sha384', 'sha1', 'md5'] as const;
export type ChecksumType = (typeof CHECKSUM_TYPES)[number];

const HEX_LENGTH: Record<ChecksumType, number> = { sha256: 64, sha512: 128, sha384: 96, sha1: 40, md5: 32 };

export interface Checksum {
  type: ChecksumType;
  /** Lowercase hex. */
  value: string;
}

export const formatChecksum = (c: Checksum) => `${c.type}:${c.value}`;

/** `sha256:9f2c...`, or a bare value with its type given apart (Vagrant's `--checksum-type`). */
export function parseChecksum(text: string, type?: string): Checksum {
  const m = /^([a-z0-9]+):(.*)$/i.exec(text.trim());
  const t = (m?.[1] ?? type ?? 'sha256').toLowerCase();
  const value = (m?.[2] ?? text).trim().toLowerCase();
  if (!(CHECKSUM_TYPES as readonly string[]).includes(t))
    throw new BoxfestError('BOX_CHECKSUM_TYPE', `unknown checksum type \`${t}\``, {
      hint: `use one of: ${CHECKSUM_TYPES.join(', ')}, written TYPE:HEX (e.g. sha256:9f2c...)`,
    });
  const ct = t as ChecksumType;
  if (!new RegExp(`^[0-9a-f]{${HEX_LENGTH[ct]}}$`).test(value))
    throw new BoxfestError('BOX_CHECKSUM_FORMAT', `\`${text.slice(0, 140)}\` is not a ${ct} checksum`, {
      hint: `a ${ct} checksum is ${HEX_LENGTH[ct]} hexadecimal digits`,
    });
  return { type: ct, value };
}

/** sha256 always (the store keys boxes by it) plus the checksum's own type, in one pass. */
export class Hashes {
  private readonly hashes = new Map<ChecksumType, Hash>();
  constructor(types: readonly ChecksumType[]) {
    for (const t of new Set<ChecksumType>(['sha256', ...types])) this.hashes.set(t, createHash(t));
  }
  update(chunk: Buffer): void {
    for (const h of this.hashes.values()) h.update(chunk);
  }
  digest(): Map<ChecksumType, string> {
    return new Map([...this.hashes].map(([t, h]) => [t, h.digest('hex')]));
  }
}

export async function hashFile(
  file: string,
  types: readonly ChecksumType[] = [],
): Promise<Map<ChecksumType, string>> {
  const h = new Hashes(types);
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) h.update(chunk as Buffer);
  return h.digest();
}

/** Throws BOX_CHECKSUM when `digests` do not match `expected`. */
export function verifyChecksum(what: string, expected: Checksum, digests: Map<ChecksumType, string>): void {
  const got = digests.get(expected.type);
  if (got === expected.value) return;
  throw new BoxfestError('BOX_CHECKSUM', `${what} does not match its checksum`, {
    details: `expected ${expected.type}:${expected.value}\n     got ${expected.type}:${got ?? '?'}`,
    hint: 'the file is corrupt or not the one the checksum is for; it was not kept. Check the URL and checksum, then add it again',
  });
}
