// `synced_folders[].type`: rsync (the default), or live shares (virtiofs, 9p) on providers that
// map them; each refusal names the line, column and key path.
import { describe, expect, it } from 'vitest';
import { CAPABILITIES } from '../../../src/providers/capabilities.js';
import { environment, fakeFs, PERMISSIVE, problems, yaml } from './helpers.js';

const fs = fakeFs('/proj/app');

describe('synced folder types', () => {
  it('defaults to rsync, and keeps what is written', () => {
    const env = environment(
      yaml(
        'version: 1',
        'machines:',
        '  web:',
        '    box: tiny',
        '    synced_folders:',
        '      - { src: app, dest: /a }',
        '      - { type: virtiofs, src: app, dest: /b }',
        '      - { type: 9p, src: app, dest: /c, chown: www-data }',
      ),
      fs,
    );
    expect(env.machines[0]?.syncedFolders.map((f) => [f.type, f.dest, f.chown])).toEqual([
      ['rsync', '/a', undefined],
      ['virtiofs', '/b', undefined],
      ['9p', '/c', 'www-data'],
    ]);
  });

  it.each([
    [
      'virtiofs with chown',
      '{ type: virtiofs, src: app, dest: /b, chown: www-data }',
      '6:47 machines.web.synced_folders[0].chown: virtiofs cannot set an owner: the guest sees the owners the files have on the host (use `type: 9p` (owners kept in xattrs, the host files keep theirs) or `rsync`, or remove `chown`)',
    ],
    [
      'an rsync key on a live share',
      '{ type: 9p, src: app, dest: /b, exclude: [node_modules] }',
      '6:41 machines.web.synced_folders[0].exclude: `exclude` applies to rsync folders only, not `type: 9p` (remove it)',
    ],
    [
      'an unknown type',
      '{ type: nfs, src: app, dest: /b }',
      '6:17 machines.web.synced_folders[0].type: "nfs" is not one of rsync, virtiofs, 9p',
    ],
  ])('refuses %s', (_name, item, want) => {
    const got = problems(
      yaml('version: 1', 'machines:', '  web:', '    box: tiny', '    synced_folders:', `      - ${item}`),
      fs,
      undefined,
      { capabilities: PERMISSIVE },
    );
    expect(got).toEqual([want]);
  });

  it('VirtualBox refuses live shares at validate time, where the type is written', () => {
    const text = yaml(
      'version: 1',
      'provider: virtualbox',
      'machines:',
      '  web:',
      '    box: tiny',
      '    synced_folders:',
      '      - { src: app, dest: /a }',
      '      - { type: virtiofs, src: app, dest: /b }',
      '      - type: 9p',
      '        src: app',
      '        dest: /c',
    );
    const hint = '(use `type: rsync` (the default: copied at every `up`, `rsync-auto` keeps it current))';
    expect(problems(text, fs, undefined, { capabilities: CAPABILITIES.virtualbox })).toEqual([
      `8:17 machines.web.synced_folders[1].type: provider \`virtualbox\` cannot do \`type: virtiofs\` synced folders yet ${hint}`,
      `9:15 machines.web.synced_folders[2].type: provider \`virtualbox\` cannot do \`type: 9p\` synced folders yet ${hint}`,
    ]);
    expect(problems(text, fs, undefined, { capabilities: CAPABILITIES.qemu })).toEqual([]);
  });
});
