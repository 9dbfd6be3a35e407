// The libvirt tests' refusal of any daemon but their own (test/integration/libvirt/own-daemon.ts):
// which URIs in the environment lead to the private daemon's socket, decided on file identity.
// The real daemon is checked by test/integration/libvirt/own-daemon.integration.ts.
import { describe, expect, it } from 'vitest';
import { foreignUris, notPrivate, privateSocket } from '../../integration/libvirt/own-daemon.js';

const DIR = '/tmp/bflv.abc123';
// Inside the daemon's mount namespace /run/libvirt is DIR/run/libvirt: one file, two paths.
const files: Record<string, string> = {
  [privateSocket(DIR)]: '1:100',
  '/run/libvirt/libvirt-sock': '1:100',
  '/tmp/bflv.other/run/libvirt/libvirt-sock': '1:200', // another run's private daemon
  '/var/run/system-libvirt-sock': '1:300',
};
const id = (p: string) => files[p];

describe('notPrivate', () => {
  it.each([
    ['qemu:///system', undefined],
    [`qemu:///system?socket=${privateSocket(DIR)}`, undefined],
    [
      'qemu:///system?socket=/tmp/bflv.other/run/libvirt/libvirt-sock',
      "qemu:///system?socket=/tmp/bflv.other/run/libvirt/libvirt-sock leads to the socket /tmp/bflv.other/run/libvirt/libvirt-sock, not to the private daemon's /tmp/bflv.abc123/run/libvirt/libvirt-sock",
    ],
    [
      'qemu:///system?socket=/var/run/system-libvirt-sock',
      "qemu:///system?socket=/var/run/system-libvirt-sock leads to the socket /var/run/system-libvirt-sock, not to the private daemon's /tmp/bflv.abc123/run/libvirt/libvirt-sock",
    ],
    [
      'qemu:///system?socket=/nowhere',
      "qemu:///system?socket=/nowhere leads to the socket /nowhere, not to the private daemon's /tmp/bflv.abc123/run/libvirt/libvirt-sock",
    ],
    [
      'qemu+ssh://user@host/system',
      "qemu+ssh://user@host/system: a remote host, not the private daemon's unix socket",
    ],
    [
      'qemu:///session',
      'qemu:///session: `qemu:///session` is a session daemon, which has no virtual networks for the management network',
    ],
  ])('%s → %s', (uri, why) => {
    expect(notPrivate(uri, DIR, id)).toBe(why);
  });

  it('refuses the default URI when the modular daemon socket would win', () => {
    const withModular = (p: string) => (p === '/run/libvirt/virtqemud-sock' ? '1:400' : id(p));
    expect(notPrivate('qemu:///system', DIR, withModular)).toMatch(
      /leads to the socket \/run\/libvirt\/virtqemud-sock/,
    );
  });

  it('refuses everything when the private socket is gone', () => {
    expect(notPrivate('qemu:///system', '/tmp/bflv.gone', id)).toBe(
      "the private daemon's socket /tmp/bflv.gone/run/libvirt/libvirt-sock does not exist",
    );
  });
});

describe('foreignUris', () => {
  it.each([
    [{}, []],
    [{ LIBVIRT_DEFAULT_URI: '' }, []],
    [{ LIBVIRT_DEFAULT_URI: 'qemu:///system' }, []],
    [
      { LIBVIRT_DEFAULT_URI: 'qemu:///system?socket=/tmp/bflv.other/run/libvirt/libvirt-sock' },
      [expect.stringMatching(/^LIBVIRT_DEFAULT_URI=.*leads to the socket \/tmp\/bflv\.other\//)],
    ],
    [
      { VIRSH_DEFAULT_CONNECT_URI: 'qemu+ssh://host/system' },
      [expect.stringMatching(/^VIRSH_DEFAULT_CONNECT_URI=qemu\+ssh:\/\/host\/system: a remote host/)],
    ],
  ])('%j', (env, problems) => {
    expect(foreignUris(env, DIR, id)).toEqual(problems);
  });

  it('names the default URI when it does not reach the private daemon (outside its namespace)', () => {
    const outside = (p: string) => (p === '/run/libvirt/libvirt-sock' ? '1:300' : id(p));
    expect(foreignUris({}, DIR, outside)).toEqual([
      expect.stringMatching(
        /^the default qemu:\/\/\/system leads to the socket \/run\/libvirt\/libvirt-sock/,
      ),
    ]);
  });
});
