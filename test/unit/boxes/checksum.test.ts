import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CHECKSUM_TYPES, hashFile, parseChecksum, verifyChecksum } from '../../../src/boxes/checksum.js';

describe('checksums', () => {
  const dir = mkdtempSync(join(tmpdir(), 'boxfest-sum-'));
  const file = join(dir, 'f');
  writeFileSync(file, 'box content\n');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each(CHECKSUM_TYPES)('%s: TYPE:HEX verifies the file, a wrong value is refused', async (type) => {
    const hex = createHash(type).update('box content\n').digest('hex');
    const sum = parseChecksum(`${type}:${hex.toUpperCase()}`);
    expect(sum).toEqual({ type, value: hex });
    const digests = await hashFile(file, [type]);
    expect(() => verifyChecksum(file, sum, digests)).not.toThrow();
    const wrong = { type, value: hex.replace(/^./, (c) => (c === '0' ? '1' : '0')) };
    expect(() => verifyChecksum(file, wrong, digests)).toThrow(
      expect.objectContaining({ code: 'BOX_CHECKSUM' }),
    );
  });

  it('takes a bare value with its type apart (Vagrant --checksum-type)', () => {
    expect(parseChecksum('d41d8cd98f00b204e9800998ecf8427e', 'md5').type).toBe('md5');
  });

  it.each([
    ['crc32:1234', 'BOX_CHECKSUM_TYPE'],
    ['sha256:abc', 'BOX_CHECKSUM_FORMAT'],
    ['sha1:' + 'z'.repeat(40), 'BOX_CHECKSUM_FORMAT'],
  ])('%s → %s', (text, code) => {
    expect(() => parseChecksum(text)).toThrow(expect.objectContaining({ code }));
  });
});
