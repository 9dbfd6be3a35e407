// The seed ISO is read back by real readers: blkid (what cloud-init's NoCloud and ds-identify use
// to find the `cidata` volume), and the Debian guest in test/integration/guests.integration.ts.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isoImage } from '../../../src/cloud-init/iso9660.js';

const dir = mkdtempSync(join(tmpdir(), 'boxfest-iso-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const files = [
  { name: 'user-data', data: Buffer.from('#cloud-config\n') },
  { name: 'meta-data', data: Buffer.from('instance-id: i-1\n') },
  { name: 'network-config', data: Buffer.from('version: 2\n'.repeat(300)) },
];

describe('isoImage', () => {
  it('is an ISO 9660 volume labelled cidata to blkid', () => {
    const file = join(dir, 'seed.iso');
    writeFileSync(file, isoImage('cidata', files));
    const out = execFileSync('blkid', ['-p', '-o', 'export', file], { encoding: 'utf8' });
    expect(out).toMatch(/^TYPE=iso9660$/m);
    expect(out).toMatch(/^LABEL=cidata$/m);
  });

  it('holds each file whole, at a sector boundary, named in UCS-2 in the Joliet directory', () => {
    const img = isoImage('cidata', files);
    expect(img.length % 2048).toBe(0);
    expect(img.subarray(17 * 2048 + 1, 17 * 2048 + 6).toString('ascii')).toBe('CD001');
    expect(img.subarray(17 * 2048 + 88, 17 * 2048 + 91).toString('ascii')).toBe('%/E');
    const joliet = img.subarray(24 * 2048, 25 * 2048);
    for (const f of files) {
      const name = Buffer.from(f.name, 'utf16le').swap16();
      const at = joliet.indexOf(name);
      expect(at).toBeGreaterThan(33);
      const record = at - 33;
      const extent = joliet.readUInt32LE(record + 2);
      const size = joliet.readUInt32LE(record + 10);
      expect(size).toBe(f.data.length);
      expect(img.subarray(extent * 2048, extent * 2048 + size).equals(f.data)).toBe(true);
    }
  });

  it('gives the primary directory unique 8.3 names', () => {
    const img = isoImage('cidata', [
      { name: 'network-config', data: Buffer.from('a') },
      { name: 'network-config2', data: Buffer.from('b') },
    ]);
    const primary = img.subarray(23 * 2048, 24 * 2048).toString('latin1');
    expect(primary).toContain('NETWORK_.;1');
    expect(primary).toContain('NETWORK1.;1');
  });
});
