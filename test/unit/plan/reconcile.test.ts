// reconcile is pure: every case is a hand-built spec, an observation, and the exact plan.

import { describe, expect, it } from 'vitest';
import type { MachineSpec } from '../../../src/config/types.js';
import { BoxfestError } from '../../../src/errors.js';
import { driftOf, reconcile, selectMachines } from '../../../src/plan/reconcile.js';
import type { MachinePlan, Observed } from '../../../src/plan/reconcile.js';
import type { AppliedSpec } from '../../../src/state/machine-state.js';
import { environment, spec } from '../helpers.js';

const web = spec('web', { box: 'debian-12', cpus: 2, memory: 1024 });
const same: AppliedSpec = { box: 'debian-12', cpus: 2, memory: 1024, hostname: 'web' };
const changed: AppliedSpec = { box: 'ubuntu-24.04', cpus: 1, memory: 512, hostname: 'web' };

const BOX = 'box changed from ubuntu-24.04 to debian-12: needs destroy and up';
const CPUS = 'cpus changed from 1 to 2: needs reload (boxfest halt, then up)';
const MEMORY = 'memory changed from 512 to 1024 MiB: needs reload (boxfest halt, then up)';

describe('reconcile', () => {
  it.each<[string, Observed | undefined, Omit<MachinePlan, 'machine'>]>([
    ['never observed', undefined, { action: 'create', reason: 'not created yet', drift: [] }],
    [
      'not_created',
      { actual: { name: 'web', state: 'not_created' } },
      { action: 'create', reason: 'not created yet', drift: [] },
    ],
    [
      'not_created, stale applied spec ignored',
      { actual: { name: 'web', state: 'not_created' }, applied: changed },
      { action: 'create', reason: 'not created yet', drift: [] },
    ],
    [
      'broken with a reason',
      { actual: { name: 'web', state: 'broken', reason: 'disk is missing' }, applied: changed },
      { action: 'create', reason: 'broken (disk is missing): recreate it', drift: [] },
    ],
    [
      'broken without a reason',
      { actual: { name: 'web', state: 'broken' } },
      { action: 'create', reason: 'broken (unknown): recreate it', drift: [] },
    ],
    [
      'halted, converged spec',
      { actual: { name: 'web', state: 'halted' }, applied: same, converged: true },
      { action: 'start', reason: 'halted', drift: [] },
    ],
    [
      'halted: cpus and memory are applied at boot, only the box drifts',
      { actual: { name: 'web', state: 'halted' }, applied: changed },
      { action: 'start', reason: 'halted', drift: [BOX] },
    ],
    [
      'halted, only cpus/memory changed',
      { actual: { name: 'web', state: 'halted' }, applied: { ...same, cpus: 4, memory: 4096 } },
      { action: 'start', reason: 'halted', drift: [] },
    ],
    [
      'halted without state.json',
      { actual: { name: 'web', state: 'halted' } },
      { action: 'start', reason: 'halted', drift: [] },
    ],
    [
      'running and converged',
      { actual: { name: 'web', state: 'running' }, applied: same, converged: true },
      { action: 'none', reason: 'running and up to date', drift: [] },
    ],
    [
      'running and converged, with drift',
      { actual: { name: 'web', state: 'running' }, applied: changed, converged: true },
      { action: 'none', reason: 'running and up to date', drift: [BOX, CPUS, MEMORY] },
    ],
    [
      'running, not converged',
      { actual: { name: 'web', state: 'running' }, applied: same, converged: false },
      { action: 'continue', reason: 'running, but its last `up` did not finish', drift: [] },
    ],
    [
      'running, converged unknown',
      { actual: { name: 'web', state: 'running' }, applied: changed },
      { action: 'continue', reason: 'running, but its last `up` did not finish', drift: [BOX, CPUS, MEMORY] },
    ],
  ])('%s', (_title, observed, expected) => {
    const observations = new Map<string, Observed>(observed === undefined ? [] : [['web', observed]]);
    expect(reconcile([web], observations)).toEqual({ machines: [{ machine: 'web', ...expected }] });
  });

  it('plans every desired machine, in the order given, by its own observation', () => {
    const desired = [spec('db'), spec('web'), spec('cache')];
    const observed = new Map<string, Observed>([
      ['web', { actual: { name: 'web', state: 'running' }, applied: same, converged: true }],
      ['db', { actual: { name: 'db', state: 'halted' }, applied: { ...same, hostname: 'db' } }],
      ['gone', { actual: { name: 'gone', state: 'running' } }],
    ]);
    expect(reconcile(desired, observed).machines.map((m) => `${m.machine}:${m.action}`)).toEqual([
      'db:start',
      'web:none',
      'cache:create',
    ]);
  });

  it('plans nothing for no machines', () => {
    expect(reconcile([], new Map())).toEqual({ machines: [] });
  });
});

describe('driftOf', () => {
  it.each<[string, Partial<AppliedSpec>, string[]]>([
    ['nothing changed', {}, []],
    ['hostname is not drift', { hostname: 'other' }, []],
    ['box', { box: 'ubuntu-24.04' }, [BOX]],
    ['cpus', { cpus: 1 }, [CPUS]],
    ['memory', { memory: 512 }, [MEMORY]],
    ['all, in a fixed order', { memory: 512, box: 'ubuntu-24.04', cpus: 1 }, [BOX, CPUS, MEMORY]],
    [
      'fewer cpus and more memory',
      { cpus: 8, memory: 8192 },
      [
        'cpus changed from 8 to 2: needs reload (boxfest halt, then up)',
        'memory changed from 8192 to 1024 MiB: needs reload (boxfest halt, then up)',
      ],
    ],
  ])('%s', (_title, applied, expected) => {
    expect(driftOf(web, { ...same, ...applied })).toEqual(expected);
  });
});

describe('selectMachines', () => {
  const machines: MachineSpec[] = [spec('web'), spec('db'), spec('cache')];
  const env = environment(machines);

  it.each<[string[], string[]]>([
    [[], ['web', 'db', 'cache']],
    [['db'], ['db']],
    [
      ['cache', 'web'],
      ['cache', 'web'],
    ],
    [
      ['db', 'web', 'cache'],
      ['db', 'web', 'cache'],
    ],
  ])('%j selects %j', (names, expected) => {
    expect(selectMachines(env, names).map((m) => m.name)).toEqual(expected);
  });

  it('returns the spec objects themselves', () => {
    expect(selectMachines(env, ['db'])[0]).toBe(machines[1]);
    expect(selectMachines(env, [])).toBe(machines);
  });

  it.each([[['nope']], [['web', 'nope']], [['nope', 'web']]])('rejects an unknown name in %j', (names) => {
    let error: unknown;
    try {
      selectMachines(env, names);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(BoxfestError);
    const e = error as BoxfestError;
    expect(e.code).toBe('UNKNOWN_MACHINE');
    expect(e.message).toBe('no machine named `nope` in /proj/Boxfile.yaml');
    expect(e.hint).toBe('machines in this Boxfile: web, db, cache');
  });
});
