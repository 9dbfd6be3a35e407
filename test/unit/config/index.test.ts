// readEnvironment against real files: find, read, check, and the error the CLI gets.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/errors.js';
import { readEnvironment } from '../../../src/config/index.js';
import { show, tempDir, yaml } from './helpers.js';

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('did not throw');
}

describe('readEnvironment', () => {
  it('reads the Boxfile above the working directory and resolves paths against its directory', () => {
    const root = join(tempDir(), 'My Project');
    mkdirSync(join(root, 'app', 'src'), { recursive: true });
    writeFileSync(join(root, 'id_ed25519'), 'key');
    const text = yaml(
      'version: 1',
      'defaults: { box: debian-12, ssh: { private_key: id_ed25519 } }',
      'machines:',
      '  web:',
      '    synced_folders: [{ src: app, dest: /srv/app }]',
    );
    writeFileSync(join(root, 'Boxfile.yaml'), text);
    const env = readEnvironment(join(root, 'app', 'src'));
    expect(env.file).toBe(join(root, 'Boxfile.yaml'));
    expect(env.root).toBe(root);
    expect(env.name).toBe('my-project');
    expect(env.machines[0]?.ssh).toEqual({ privateKey: join(root, 'id_ed25519') });
    expect(env.machines[0]?.syncedFolders).toEqual([
      {
        type: 'rsync',
        src: join(root, 'app'),
        dest: '/srv/app',
        exclude: [],
        delete: true,
        args: [],
        auto: true,
        disabled: false,
      },
    ]);
  });

  it('throws one ConfigError with every problem, sorted by position, against the real disk', () => {
    const root = tempDir();
    const text = yaml(
      'version: 1',
      'machines:',
      '  db:',
      '    box: alpine-3',
      '    synced_folders: [{ src: ./missing, dest: data }]',
      '  web:',
    );
    writeFileSync(join(root, 'Boxfile.yaml'), text);
    const e = configError(() => readEnvironment(root));
    expect(e.code).toBe('CONFIG_INVALID');
    expect(e.message).toBe('the Boxfile has 3 problem(s)');
    expect(e.issues.every((i) => i.file === join(root, 'Boxfile.yaml'))).toBe(true);
    expect(e.issues.map(show)).toEqual([
      `5:29 machines.db.synced_folders[0].src: \`./missing\` does not exist (resolved to ${join(root, 'missing')}) (create the directory on the host or fix the path)`,
      '5:46 machines.db.synced_folders[0].dest: must be an absolute path in the guest (did you mean `/data`?)',
      '6:3 machines.web: machine `web` has no box (set `box:` on the machine or in `defaults`)',
    ]);
  });
});
