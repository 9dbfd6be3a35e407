// inspectQemu derives a machine's state from its files (a real temp dir) and the live PID given.
import { writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { inspectQemu } from '../../../src/providers/qemu/inspect.js';
import { qemuPaths } from '../../../src/providers/qemu/paths.js';
import { machinePaths } from '../../../src/state/paths.js';
import { environment, machineState, spec, tempDir } from '../helpers.js';
import { mkdirSync } from 'node:fs';

const state = machineState({ project: '/p', sshPort: 2222, accel: 'tcg' });

describe('inspectQemu', () => {
  it.each<[string, { disk: boolean; pidfile: boolean; pid?: number }, object]>([
    [
      'running',
      { disk: true, pidfile: true, pid: 4242 },
      { state: 'running', accel: 'tcg', ssh: { host: '127.0.0.1', port: 2222 } },
    ],
    ['halted', { disk: true, pidfile: false }, { state: 'halted', accel: 'tcg' }],
    [
      'process gone, pidfile left',
      { disk: true, pidfile: true },
      {
        state: 'broken',
        broken: 'process-gone',
        reason: 'its QEMU process is gone but its pidfile is left (killed or crashed)',
      },
    ],
    ['disk missing', { disk: false, pidfile: false }, { state: 'broken', broken: 'disk-missing' }],
    [
      'disk missing wins over a stale pidfile',
      { disk: false, pidfile: true },
      { state: 'broken', broken: 'disk-missing' },
    ],
  ])('%s', async (_title, files, expected) => {
    const root = tempDir();
    const paths = machinePaths(root, 'web');
    mkdirSync(paths.dir, { recursive: true });
    if (files.disk) writeFileSync(qemuPaths(paths.dir).disk, '');
    if (files.pidfile) writeFileSync(qemuPaths(paths.dir).pid, '4242\n');
    const a = await inspectQemu(
      { env: environment([spec('web')], root), spec: spec('web'), paths },
      state,
      files.pid,
    );
    expect(a).toMatchObject({ name: 'web', ...expected });
  });

  it('a suspended flag whose QMP does not answer is not believed: running', async () => {
    const root = tempDir();
    const paths = machinePaths(root, 'web');
    const a = await inspectQemu(
      { env: environment([spec('web')], root), spec: spec('web'), paths },
      { ...state, suspended: true },
      4242,
    );
    expect(a.state).toBe('running');
  });
});
