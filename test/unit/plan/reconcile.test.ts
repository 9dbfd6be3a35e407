// reconcile is pure: every case is a hand-built spec, an observation, and the exact plan.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { MachineSpec, Network, Provisioner } from '../../../src/config/types.js';
import { BoxfestError } from '../../../src/errors.js';
import { changesOf } from '../../../src/plan/drift.js';
import { reconcile, selectMachines } from '../../../src/plan/reconcile.js';
import type { MachinePlan, Observed } from '../../../src/plan/reconcile.js';
import { planText } from '../../../src/commands/plan.js';
import { appliedSpecOf, type AppliedSpec } from '../../../src/state/applied.js';
import { environment, spec } from '../helpers.js';

const web = spec('web', { box: 'debian-12', cpus: 2, memory: 1024 });
/** What `web` was built with, exactly. */
const same: AppliedSpec = appliedSpecOf(web, 'virtio', []);
/** A state.json from before the applied spec grew: only these four fields. */
const legacy: AppliedSpec = { box: 'debian-12', cpus: 2, memory: 1024, hostname: 'web' };

const running = (o: Partial<Observed> = {}): Observed => ({
  actual: { name: 'web', state: 'running' },
  applied: same,
  converged: true,
  ...o,
});
const shell = (name: string, script: string, run: Provisioner['run'] = 'once'): Provisioner => ({
  kind: 'shell',
  name,
  run,
  source: { inline: script },
  args: [],
  env: {},
  secrets: [],
  privileged: true,
});
const folder = {
  type: 'rsync' as const,
  src: '/proj/app',
  dest: '/srv/app',
  exclude: [],
  delete: true,
  args: [],
  auto: true,
  disabled: false,
};

type Expect = Pick<MachinePlan, 'action' | 'reason'> & { fields?: string[] };

describe('reconcile: the action for each observed state', () => {
  it.each<[string, Observed | undefined, Expect]>([
    ['never observed', undefined, { action: 'create', reason: 'not created yet' }],
    [
      'not_created',
      { actual: { name: 'web', state: 'not_created' } },
      { action: 'create', reason: 'not created yet' },
    ],
    [
      'not_created, stale applied spec ignored',
      { actual: { name: 'web', state: 'not_created' }, applied: { ...same, box: 'other' } },
      { action: 'create', reason: 'not created yet' },
    ],
    [
      'broken: disk missing',
      {
        actual: { name: 'web', state: 'broken', broken: 'disk-missing', reason: 'disk is missing' },
        applied: same,
      },
      { action: 'create', reason: 'broken (disk is missing): recreate it' },
    ],
    [
      'broken: disk missing, changes do not matter',
      {
        actual: { name: 'web', state: 'broken', broken: 'disk-missing', reason: 'disk is missing' },
        applied: { ...same, box: 'x' },
      },
      { action: 'create', reason: 'broken (disk is missing): recreate it' },
    ],
    [
      'broken: process gone, the disk is fine',
      {
        actual: { name: 'web', state: 'broken', broken: 'process-gone', reason: 'pidfile left' },
        applied: same,
      },
      { action: 'start', reason: 'broken (pidfile left): boot it again' },
    ],
    [
      'broken: process gone, and a new box',
      { actual: { name: 'web', state: 'broken', broken: 'process-gone' }, applied: { ...same, box: 'old' } },
      { action: 'recreate', reason: 'box changed: needs a new disk (destroy, then create)', fields: ['box'] },
    ],
    [
      'broken without a kind',
      { actual: { name: 'web', state: 'broken' } },
      { action: 'create', reason: 'broken (unknown): recreate it' },
    ],
    [
      'unknown: its host is down, so nothing is planned and its changes do not matter',
      {
        actual: { name: 'web', state: 'unknown', reason: 'rack2.lan:22 refused the connection' },
        applied: { ...same, box: 'old' },
      },
      { action: 'unreachable', reason: 'rack2.lan:22 refused the connection' },
    ],
    [
      'halted',
      { actual: { name: 'web', state: 'halted' }, applied: same },
      { action: 'start', reason: 'halted' },
    ],
    [
      'halted: cpus and memory are applied by the boot',
      { actual: { name: 'web', state: 'halted' }, applied: { ...same, cpus: 4, memory: 4096 } },
      { action: 'start', reason: 'halted', fields: ['cpus', 'memory'] },
    ],
    [
      'halted with a new box',
      { actual: { name: 'web', state: 'halted' }, applied: { ...same, box: 'old' } },
      { action: 'recreate', reason: 'box changed: needs a new disk (destroy, then create)', fields: ['box'] },
    ],
    [
      'suspended',
      { actual: { name: 'web', state: 'suspended' }, applied: same },
      { action: 'resume', reason: 'suspended' },
    ],
    [
      'suspended with new memory',
      { actual: { name: 'web', state: 'suspended' }, applied: { ...same, memory: 256 } },
      {
        action: 'reload',
        reason: 'memory changed: needs a reboot with the new settings (halt, then up)',
        fields: ['memory'],
      },
    ],
    ['running and converged', running(), { action: 'none', reason: 'running and up to date' }],
    [
      'running, not converged',
      running({ converged: false }),
      { action: 'continue', reason: 'running, but its last `up` did not finish' },
    ],
    [
      'running, converged unknown',
      running({ converged: undefined as unknown as boolean }),
      { action: 'continue', reason: 'running, but its last `up` did not finish' },
    ],
    [
      'running with a new hostname: applied in place',
      running({ applied: { ...same, hostname: 'old' } }),
      {
        action: 'apply',
        reason: 'running; the Boxfile changed in ways `up` applies in place',
        fields: ['hostname'],
      },
    ],
    [
      'running, not converged, with in-place changes: continue applies them',
      running({ converged: false, applied: { ...same, hostname: 'old' } }),
      { action: 'continue', reason: 'running, but its last `up` did not finish', fields: ['hostname'] },
    ],
    [
      'running with new cpus: reload beats in place',
      running({ applied: { ...same, cpus: 1, hostname: 'old' } }),
      {
        action: 'reload',
        reason: 'cpus changed: needs a reboot with the new settings (halt, then up)',
        fields: ['cpus', 'hostname'],
      },
    ],
    [
      'running with a new box: recreate beats reload',
      running({ applied: { ...same, box: 'old', memory: 1 } }),
      {
        action: 'recreate',
        reason: 'box changed: needs a new disk (destroy, then create)',
        fields: ['box', 'memory'],
      },
    ],
    [
      'running, an older state.json with only four fields: no change is invented',
      running({ applied: legacy }),
      { action: 'none', reason: 'running and up to date' },
    ],
    [
      'running, an older state.json: its four fields are still compared',
      running({ applied: { ...legacy, memory: 512 } }),
      {
        action: 'reload',
        reason: 'memory changed: needs a reboot with the new settings (halt, then up)',
        fields: ['memory'],
      },
    ],
  ])('%s', (_title, observed, expected) => {
    const observations = new Map<string, Observed>(observed === undefined ? [] : [['web', observed]]);
    const [m] = reconcile([web], observations, []).machines;
    expect({ action: m!.action, reason: m!.reason }).toEqual({
      action: expected.action,
      reason: expected.reason,
    });
    expect(m!.changes.map((c) => c.field)).toEqual(expected.fields ?? []);
    expect(m!.state).toBe(observed?.actual.state ?? 'not_created');
  });

  it('plans every desired machine in order, then removes machines the Boxfile no longer names', () => {
    const desired = [spec('db'), spec('web'), spec('cache')];
    const observed = new Map<string, Observed>([
      ['web', running()],
      ['db', { actual: { name: 'db', state: 'halted' }, applied: appliedSpecOf(spec('db'), 'virtio', []) }],
      ['zed', { actual: { name: 'zed', state: 'halted' } }],
      ['gone', { actual: { name: 'gone', state: 'running' } }],
      ['never', { actual: { name: 'never', state: 'not_created' } }],
    ]);
    expect(reconcile(desired, observed, []).machines.map((m) => `${m.machine}:${m.action}`)).toEqual([
      'db:start',
      'web:none',
      'cache:create',
      'gone:remove',
      'zed:remove',
    ]);
  });

  it('plans nothing for no machines', () => {
    expect(reconcile([], new Map(), [])).toEqual({ version: 1, machines: [] });
  });
});

describe('changesOf: each field and its class', () => {
  const withSpec = (over: Partial<MachineSpec>) =>
    spec('web', { box: 'debian-12', cpus: 2, memory: 1024, ...over });
  it.each<[string, MachineSpec, Partial<AppliedSpec>, [string, string, string][]]>([
    ['nothing changed', web, {}, []],
    ['box', web, { box: 'ubuntu' }, [['box', 'recreate', 'box changed from ubuntu to debian-12']]],
    [
      'box version',
      withSpec({ boxVersion: '2' }),
      {},
      [['box_version', 'recreate', 'box_version changed from unset to 2']],
    ],
    [
      'disk interface named in the Boxfile',
      withSpec({ qemu: { accel: 'auto', restrictNetwork: false, extraArgs: [], diskInterface: 'nvme' } }),
      {},
      [['qemu.disk_interface', 'recreate', 'qemu.disk_interface changed from virtio to nvme']],
    ],
    ['disk interface unset: the box decides, no change', web, { diskInterface: 'nvme' }, []],
    ['cpus', web, { cpus: 1 }, [['cpus', 'reload', 'cpus changed from 1 to 2']]],
    ['memory', web, { memory: 512 }, [['memory', 'reload', 'memory changed from 512 MiB to 1024 MiB']]],
    [
      'a new NIC',
      withSpec({ networks: [{ network: 'lan', ip: '192.168.56.10', dhcp: false }] }),
      {},
      [
        [
          'networks',
          'reload',
          'networks changed from [] to [{"dhcp":false,"ip":"192.168.56.10","network":"lan"}]',
        ],
      ],
    ],
    [
      'a forwarded port',
      withSpec({
        forwardedPorts: [{ guest: 80, host: 8080, hostIp: '127.0.0.1', protocol: 'tcp', autoCorrect: false }],
      }),
      {},
      [
        [
          'forwarded_ports',
          'reload',
          'forwarded_ports changed from [] to [{"autoCorrect":false,"guest":80,"host":8080,"hostIp":"127.0.0.1","protocol":"tcp"}]',
        ],
      ],
    ],
    [
      'qemu extra args',
      withSpec({ qemu: { accel: 'auto', restrictNetwork: false, extraArgs: ['-device', 'x'] } }),
      {},
      [['qemu.extra_args', 'reload', 'qemu.extra_args changed from [] to ["-device","x"]']],
    ],
    ['hostname', web, { hostname: 'old' }, [['hostname', 'in_place', 'hostname changed from old to web']]],
    [
      'a new synced folder',
      withSpec({ syncedFolders: [folder] }),
      {},
      [['synced_folders[/srv/app]', 'in_place', 'synced folder /srv/app added']],
    ],
    [
      'a changed synced folder',
      withSpec({ syncedFolders: [{ ...folder, delete: false }] }),
      { syncedFolders: [folder] },
      [['synced_folders[/srv/app]', 'in_place', 'synced folder /srv/app changed']],
    ],
    [
      'a removed synced folder',
      web,
      { syncedFolders: [folder] },
      [
        [
          'synced_folders[/srv/app]',
          'in_place',
          'synced folder /srv/app removed (files already in the guest are kept)',
        ],
      ],
    ],
    [
      'a new provisioner',
      withSpec({ provision: [shell('setup', 'true')] }),
      {},
      [['provision[setup]', 'in_place', 'provisioner setup added']],
    ],
    [
      'a new `run: never` provisioner changes nothing',
      withSpec({ provision: [shell('manual', 'true', 'never')] }),
      {},
      [],
    ],
    [
      'a changed provisioner',
      withSpec({ provision: [shell('setup', 'echo two')] }),
      {
        provisioners: appliedSpecOf(withSpec({ provision: [shell('setup', 'echo one')] }), 'virtio', [])
          .provisioners!,
      },
      [['provision[setup]', 'in_place', 'provisioner setup changed']],
    ],
    [
      'everything at once, recreate first, then reload, then in place',
      withSpec({ box: 'new', hostname: 'h2' }),
      { memory: 1, box: 'old' },
      [
        ['box', 'recreate', 'box changed from old to new'],
        ['memory', 'reload', 'memory changed from 1 MiB to 1024 MiB'],
        ['hostname', 'in_place', 'hostname changed from web to h2'],
      ],
    ],
  ])('%s', (_title, desired, applied, expected) => {
    expect(changesOf(desired, { ...same, ...applied }, []).map((c) => [c.field, c.class, c.message])).toEqual(
      expected,
    );
  });

  const lab = (over: Partial<Extract<Network, { type: 'private' }>> = {}): Network => ({
    name: 'lab',
    type: 'private',
    cidr: '10.0.0.0/24',
    dhcp: false,
    ...over,
  });
  const onLab = withSpec({ networks: [{ network: 'lab', dhcp: true }] });
  it.each<[string, MachineSpec, Network[], Network[], [string, string, string][]]>([
    ['the same definition', onLab, [lab()], [lab()], []],
    [
      'a new CIDR (its addresses change: a reboot)',
      onLab,
      [lab()],
      [lab({ cidr: '10.1.0.0/24' })],
      [['networks.lab', 'reload', 'network lab changed from private 10.0.0.0/24 to private 10.1.0.0/24']],
    ],
    [
      'private to bridged',
      onLab,
      [lab()],
      [{ name: 'lab', type: 'bridged', interface: 'br0' }],
      [['networks.lab', 'reload', 'network lab changed from private 10.0.0.0/24 to bridged to br0']],
    ],
    // Only the networks the machine is on count; attaching is a `networks` change.
    [
      'another network changed',
      onLab,
      [lab()],
      [lab(), { name: 'other', type: 'bridged', interface: 'br1' }],
      [],
    ],
    ['an older state.json without definitions', onLab, [], [lab({ cidr: '10.9.0.0/24' })], []],
  ])('network definitions: %s', (_title, desired, appliedNets, nets, expected) => {
    const applied = { ...appliedSpecOf(desired, 'virtio', appliedNets) };
    if (appliedNets.length === 0) delete applied.networkDefinitions;
    expect(changesOf(desired, applied, nets).map((c) => [c.field, c.class, c.message])).toEqual(expected);
  });

  it.each<[string, Observed, string]>([
    ['running', running({ actual: { name: 'web', state: 'running', cutOff: ['lab'] } }), 'reload'],
    ['suspended', running({ actual: { name: 'web', state: 'suspended', cutOff: ['lab'] } }), 'reload'],
    // A boot plugs it in again anyway.
    ['halted', running({ actual: { name: 'web', state: 'halted' } }), 'start'],
  ])('a %s machine whose switch died', (_state, o, action) => {
    const [m] = reconcile([web], new Map([['web', o]]), []).machines;
    expect(m?.action).toBe(action);
    if (action === 'reload') expect(m?.reason).toMatch(/^the switch of network lab died under it/);
  });

  it('a changed network definition makes a running machine need a reload', () => {
    const applied = appliedSpecOf(onLab, 'virtio', [lab()]);
    const [m] = reconcile([onLab], new Map([['web', running({ applied })]]), [
      lab({ cidr: '10.1.0.0/24' }),
    ]).machines;
    expect(m).toMatchObject({
      action: 'reload',
      reason: expect.stringContaining('networks.lab changed') as string,
    });
  });

  it('a secret env value is not in the digest: the state file never holds it', () => {
    const p: Provisioner = {
      ...shell('s', 'true'),
      env: { TOKEN: 'hunter2' },
      secrets: ['hunter2'],
    } as Provisioner;
    const q: Provisioner = {
      ...shell('s', 'true'),
      env: { TOKEN: 'other' },
      secrets: ['other'],
    } as Provisioner;
    const a = appliedSpecOf(spec('web', { provision: [p] }), 'virtio', []);
    expect(JSON.stringify(a)).not.toContain('hunter2');
    expect(a.provisioners).toEqual(appliedSpecOf(spec('web', { provision: [q] }), 'virtio', []).provisioners);
  });
});

describe('plan --json', () => {
  // The shape `boxfest plan --json` prints (docs/plan-json.md); a change to it fails here.
  it('is stable', async () => {
    const desired = [
      spec('web', { memory: 512, syncedFolders: [folder] }),
      spec('db', { box: 'ubuntu' }),
      spec('cache'),
      spec('new'),
    ];
    const observed = new Map<string, Observed>([
      ['web', running({ applied: appliedSpecOf(spec('web'), 'nvme', []) })],
      [
        'db',
        {
          actual: { name: 'db', state: 'halted' },
          applied: appliedSpecOf(spec('db'), 'nvme', []),
          converged: false,
        },
      ],
      [
        'cache',
        {
          actual: { name: 'cache', state: 'suspended', ssh: { host: '127.0.0.1', port: 2222 } },
          applied: appliedSpecOf(spec('cache'), 'nvme', []),
        },
      ],
      ['old', { actual: { name: 'old', state: 'halted' } }],
    ]);
    const plan = reconcile(desired, observed, []);
    await expect(JSON.stringify(plan, null, 2) + '\n').toMatchFileSnapshot('__snapshots__/plan.json');
    await expect(planText(plan).join('\n') + '\n').toMatchFileSnapshot('__snapshots__/plan.txt');
  });

  it('the stored snapshot parses and names every action field', () => {
    const text = readFileSync(join(import.meta.dirname, '__snapshots__/plan.json'), 'utf8');
    const plan = JSON.parse(text) as { version: number; machines: MachinePlan[] };
    expect(plan.version).toBe(1);
    for (const m of plan.machines)
      expect(Object.keys(m)).toEqual(['machine', 'state', 'action', 'reason', 'changes']);
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
  ])('%j selects %j', (names, expected) => {
    expect(selectMachines(env, names).map((m) => m.name)).toEqual(expected);
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
