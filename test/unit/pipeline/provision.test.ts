import { describe, expect, it } from 'vitest';
import type { Provisioner } from '../../../src/config/types.js';
import type { ProvisionMode } from '../../../src/pipeline/machine-run.js';
import { provisionersToRun } from '../../../src/pipeline/steps/provision.js';
import { provisionerDigest } from '../../../src/state/applied.js';
import type { MachineState } from '../../../src/state/machine-state.js';

const p = (name: string, run: Provisioner['run']): Provisioner => ({
  kind: 'shell',
  name,
  run,
  source: { inline: `echo ${name}` },
  args: [],
  env: {},
  secrets: [],
  privileged: true,
});
const all = [p('packages', 'once'), p('motd', 'always'), p('users', 'once'), p('restart', 'always')];

function state(provisioned: string[]): MachineState {
  return {
    provider: 'qemu',
    project: '/proj',
    createdAt: '2024-05-01T10:00:00.000Z',
    box: { name: 'debian-12', version: '1', image: '/home/u/.boxfest/boxes/debian-12/1/qemu/box.qcow2' },
    applied: { box: 'debian-12', cpus: 2, memory: 1024, hostname: 'web' },
    sshUser: 'debian',
    keyReplaced: true,
    converged: false,
    provisioned,
  };
}

describe('provisionersToRun', () => {
  it.each<[ProvisionMode, string[], string[]]>([
    ['auto', [], ['packages', 'motd', 'users', 'restart']],
    ['auto', ['packages'], ['motd', 'users', 'restart']],
    ['auto', ['packages', 'users'], ['motd', 'restart']],
    // `always` runs even when its name was recorded.
    ['auto', ['packages', 'motd', 'users', 'restart'], ['motd', 'restart']],
    ['auto', ['gone-from-boxfile'], ['packages', 'motd', 'users', 'restart']],
    ['all', [], ['packages', 'motd', 'users', 'restart']],
    ['all', ['packages', 'users'], ['packages', 'motd', 'users', 'restart']],
    ['none', [], []],
    ['none', ['packages'], []],
  ])('mode %s with %j provisioned runs %j', (mode, provisioned, expected) => {
    expect(provisionersToRun(all, mode, state(provisioned)).map((x) => x.name)).toEqual(expected);
  });

  it.each<ProvisionMode>(['auto', 'all', 'none'])('mode %s with no provisioners runs nothing', (mode) => {
    expect(provisionersToRun([], mode, state(['packages']))).toEqual([]);
  });

  it('returns the provisioner objects in Boxfile order', () => {
    const todo = provisionersToRun(all, 'auto', state(['packages']));
    expect(todo).toEqual([all[1], all[2], all[3]]);
    expect(todo[0]).toBe(all[1]);
  });

  it('never runs `never` provisioners unless named with --with', () => {
    const withNever = [...all, p('debug', 'never')];
    expect(provisionersToRun(withNever, 'auto', state([])).map((x) => x.name)).not.toContain('debug');
    expect(provisionersToRun(withNever, 'all', state([])).map((x) => x.name)).not.toContain('debug');
    expect(provisionersToRun(withNever, 'auto', state([]), ['debug', 'motd']).map((x) => x.name)).toEqual([
      'motd',
      'debug',
    ]);
    expect(provisionersToRun(withNever, 'none', state([]), ['debug'])).toEqual([]);
  });
});

describe('provisionersToRun: a `once` provisioner the Boxfile changed runs again', () => {
  const recorded = (ps: Provisioner[]): MachineState => ({
    ...state(['packages', 'users']),
    applied: {
      ...state([]).applied,
      provisioners: ps.map((x) => ({ name: x.name, kind: x.kind, run: x.run, digest: provisionerDigest(x) })),
    },
  });
  const packagesBefore: Provisioner = {
    ...p('packages', 'once'),
    source: { inline: 'apt-get install -y vim' },
  } as Provisioner;
  it.each<[string, Provisioner[], string[]]>([
    ['unchanged: only `always` ones', all, ['motd', 'restart']],
    ['packages changed since it ran', [packagesBefore, ...all.slice(1)], ['packages', 'motd', 'restart']],
  ])('%s', (_title, appliedList, expected) => {
    expect(provisionersToRun(all, 'auto', recorded(appliedList)).map((x) => x.name)).toEqual(expected);
  });

  it('an older state.json without recorded provisioners reruns nothing', () => {
    expect(provisionersToRun(all, 'auto', state(['packages', 'users'])).map((x) => x.name)).toEqual([
      'motd',
      'restart',
    ]);
  });
});
