// The identity a first boot is offered: written privately, read only from boxfest's own real
// files (a file QEMU hands the guest is never read through a link), removed without following one.
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { newHostKey } from '../../../src/guest/host-key.js';
import {
  IDENTITY_FILES,
  offeredIdentityFiles,
  removeOfferedIdentity,
  writeOfferedIdentity,
} from '../../../src/guest/offered-identity.js';
import { machinePaths } from '../../../src/state/paths.js';

let root: string;
let dir: string;
const identity = () => ({
  hostname: 'web',
  user: 'box',
  loginKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB boxfest p/web',
  hostKey: newHostKey('web'),
});

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'boxfest-identity-'));
  const paths = machinePaths(root, 'web');
  mkdirSync(paths.dir, { recursive: true });
  dir = paths.identity;
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('offered identity', () => {
  it('is written 0600 in a 0700 directory, each file what the guest reads', () => {
    const id = identity();
    writeOfferedIdentity(root, dir, id);
    expect(lstatSync(dir).mode & 0o777).toBe(0o700);
    for (const name of IDENTITY_FILES) expect(lstatSync(join(dir, name)).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(dir, 'user'), 'utf8')).toBe('box\n');
    expect(readFileSync(join(dir, 'hostname'), 'utf8')).toBe('web\n');
    expect(readFileSync(join(dir, 'authorized_keys'), 'utf8')).toBe(`${id.loginKey}\n`);
    expect(readFileSync(join(dir, 'ssh_host_ed25519_key'))).toEqual(id.hostKey.openssh);
    expect(readFileSync(join(dir, 'dropbear_ed25519_host_key'))).toEqual(id.hostKey.dropbear);
    expect(offeredIdentityFiles(root, dir)).toEqual(
      IDENTITY_FILES.map((name) => ({ name, file: join(dir, name) })),
    );
  });

  it('replaces an earlier one whole', () => {
    writeOfferedIdentity(root, dir, identity());
    writeFileSync(join(dir, 'stray'), 'x');
    const second = identity();
    writeOfferedIdentity(root, dir, second);
    expect(readFileSync(join(dir, 'dropbear_ed25519_host_key'))).toEqual(second.hostKey.dropbear);
    expect(() => lstatSync(join(dir, 'stray'))).toThrow();
  });

  it.each([
    ['nothing written', () => undefined],
    ['a file missing', () => rmSync(join(dir, 'user'))],
    [
      'a file that is a link (to a host file the guest must not get)',
      () => {
        rmSync(join(dir, 'authorized_keys'));
        symlinkSync('/etc/passwd', join(dir, 'authorized_keys'));
      },
    ],
  ])('offers nothing with %s', (name, spoil) => {
    if (name !== 'nothing written') writeOfferedIdentity(root, dir, identity());
    spoil();
    expect(offeredIdentityFiles(root, dir)).toEqual([]);
  });

  it('refuses a directory that is a link, and removes nothing through it', () => {
    const outside = mkdtempSync(join(tmpdir(), 'boxfest-identity-outside-'));
    try {
      writeFileSync(join(outside, 'user'), 'keep\n');
      symlinkSync(outside, dir);
      expect(() => offeredIdentityFiles(root, dir)).toThrow(/symbolic link/);
      expect(() => removeOfferedIdentity(root, dir)).toThrow(/symbolic link/);
      expect(() => writeOfferedIdentity(root, dir, identity())).toThrow(/symbolic link/);
      expect(readFileSync(join(outside, 'user'), 'utf8')).toBe('keep\n');
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });

  it('is removed once the guest has answered; the machine directory stays', () => {
    writeOfferedIdentity(root, dir, identity());
    removeOfferedIdentity(root, dir);
    expect(() => lstatSync(dir)).toThrow();
    expect(lstatSync(machinePaths(root, 'web').dir).isDirectory()).toBe(true);
    removeOfferedIdentity(root, dir); // nothing left: nothing to do
  });
});
