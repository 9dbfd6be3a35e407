// qemu-bridge-helper's ACL, read through an in-memory file system.

import { describe, expect, it } from 'vitest';
import { aclAllows, BRIDGE_ACL, bridgeHelper } from '../../../src/providers/qemu/bridge.js';
import { BRIDGE_HELPER } from '../../../src/providers/qemu/exec.js';

const reader = (files: Record<string, string>) => (f: string) => files[f];

describe('aclAllows', () => {
  it.each<[string, Record<string, string>, string, boolean]>([
    ['allow NAME', { [BRIDGE_ACL]: 'allow br0\n' }, 'br0', true],
    ['allow NAME, other bridge', { [BRIDGE_ACL]: 'allow br0\n' }, 'br1', false],
    ['allow all', { [BRIDGE_ACL]: 'allow all\n' }, 'virbr7', true],
    ['nothing allowed by default (empty file)', { [BRIDGE_ACL]: '' }, 'br0', false],
    ['deny after allow denies', { [BRIDGE_ACL]: 'allow all\ndeny br0\n' }, 'br0', false],
    ['deny of another bridge after allow all', { [BRIDGE_ACL]: 'allow all\ndeny br1\n' }, 'br0', true],
    ['deny all after allow NAME', { [BRIDGE_ACL]: 'allow br0\ndeny all' }, 'br0', false],
    ['a commented-out allow', { [BRIDGE_ACL]: '# allow br0\n' }, 'br0', false],
    ['indentation and tabs', { [BRIDGE_ACL]: '   allow\tbr0  \n' }, 'br0', true],
    ['CRLF line ends', { [BRIDGE_ACL]: 'allow br0\r\n' }, 'br0', true],
    ['unknown verbs and lone words are ignored', { [BRIDGE_ACL]: 'permit br0\nallow\nbr0\n' }, 'br0', false],
    ['a name is matched exactly, not as a prefix', { [BRIDGE_ACL]: 'allow br\nallow br00\n' }, 'br0', false],
    [
      'include relative to the including file',
      { [BRIDGE_ACL]: 'include lan.conf\n', '/etc/qemu/lan.conf': 'allow br0\n' },
      'br0',
      true,
    ],
    [
      'include by absolute path',
      { [BRIDGE_ACL]: 'include /opt/acl/x.conf\n', '/opt/acl/x.conf': 'allow br0\n' },
      'br0',
      true,
    ],
    [
      'nested include relative to the included file',
      {
        [BRIDGE_ACL]: 'include sub/a.conf\n',
        '/etc/qemu/sub/a.conf': 'include b.conf\n',
        '/etc/qemu/sub/b.conf': 'allow br0\n',
      },
      'br0',
      true,
    ],
    [
      'a deny after the include overrides it',
      { [BRIDGE_ACL]: 'include lan.conf\ndeny br0\n', '/etc/qemu/lan.conf': 'allow br0\n' },
      'br0',
      false,
    ],
    [
      'an included deny overrides an earlier allow',
      { [BRIDGE_ACL]: 'allow all\ninclude lan.conf\n', '/etc/qemu/lan.conf': 'deny br0\n' },
      'br0',
      false,
    ],
    ['a missing include is skipped', { [BRIDGE_ACL]: 'allow br0\ninclude gone.conf\n' }, 'br0', true],
    ['a missing ACL file', {}, 'br0', false],
    ['an include cycle terminates', { [BRIDGE_ACL]: 'allow br0\ninclude bridge.conf\n' }, 'br0', true],
  ])('%s → %s for %s', (_, files, bridge, expected) => {
    expect(aclAllows(bridge, reader(files))).toBe(expected);
  });

  // As qemu-bridge-helper's main() reads its ACL: a matching deny wins wherever it is, and only
  // lines that *start* with `#` are comments, so `allow br0 # LAN` allows the bridge `br0 # LAN`.
  it.each<[string, Record<string, string>, string]>([
    ['a deny before the allow still denies', { [BRIDGE_ACL]: 'deny br0\nallow br0\n' }, 'br0'],
    ['deny all before allow NAME still denies', { [BRIDGE_ACL]: 'deny all\nallow br0\n' }, 'br0'],
    [
      'an included deny before a later allow still denies',
      { [BRIDGE_ACL]: 'include lan.conf\nallow all\n', '/etc/qemu/lan.conf': 'deny br0\n' },
      'br0',
    ],
    ['a trailing comment is part of the name', { [BRIDGE_ACL]: 'allow br0 # the LAN\n' }, 'br0'],
  ])('as qemu-bridge-helper: %s', (_, files, bridge) => {
    expect(aclAllows(bridge, reader(files))).toBe(false);
  });

  it('reads the default ACL path, then includes relative to it', () => {
    const read: string[] = [];
    aclAllows('br0', (f) => {
      read.push(f);
      return f === BRIDGE_ACL ? 'include lan.conf\ninclude ../other/x.conf\n' : undefined;
    });
    expect(read).toEqual(['/etc/qemu/bridge.conf', '/etc/qemu/lan.conf', '/etc/other/x.conf']);
  });

  it('takes another ACL file', () => {
    const files = { '/tmp/acl/bridge.conf': 'include more.conf', '/tmp/acl/more.conf': 'allow br9' };
    expect(aclAllows('br9', reader(files), '/tmp/acl/bridge.conf')).toBe(true);
    expect(aclAllows('br9', reader(files))).toBe(false);
  });
});

describe('bridgeHelper', () => {
  it.each<[NodeJS.ProcessEnv, string]>([
    [{}, BRIDGE_HELPER],
    [{ BOXFEST_QEMU_BRIDGE_HELPER: '' }, BRIDGE_HELPER],
    [
      { BOXFEST_QEMU_BRIDGE_HELPER: 'ip netns exec lab /usr/lib/qemu/qemu-bridge-helper' },
      'ip netns exec lab /usr/lib/qemu/qemu-bridge-helper',
    ],
  ])('%j → %s', (env, expected) => {
    expect(bridgeHelper(env)).toBe(expected);
  });
});
