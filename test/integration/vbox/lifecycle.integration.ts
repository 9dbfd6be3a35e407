// boxfest on a real vboxwebsrv 7.2: what `up`, `status` and `destroy` leave on the server, read back
// through SOAP. There is no kernel driver here, so launching fails: that failure is part of the spec.
import { cpSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { sha256, TestProject } from '../harness.js';
import type { Environment } from '../../../src/config/types.js';
import { adapterFor } from '../../../src/providers/virtualbox/adapters/index.js';
import { vmName } from '../../../src/providers/virtualbox/tags.js';
import { macFor } from '../../../src/network/nics.js';
import { portHolders } from '../../../src/network/ports.js';
import { vboxMac } from '../../../src/providers/virtualbox/network.js';
import type { MachineState } from '../../../src/state/machine-state.js';
import { cleanServer, onServer, serverHardDisks, serverMachines, type ServerMachine } from './server.js';

const skipped = inject('vboxSkipped');
const share = inject('vboxShare');

const BOXFILE = (url: string) => `version: 1
provider: virtualbox
virtualbox:
  url: ${url}
networks:
  lan: { type: bridged, interface: eth0 }
machines:
  web:
    box: tiny
    memory: 384
    cpus: 2
    networks: [{ network: lan, mac: "52:54:00:12:34:56" }]
    forwarded_ports: [{ guest: 80, host: 18080 }]
`;

function ours(machines: ServerMachine[], p: TestProject): ServerMachine[] {
  return machines.filter((m) => m.extraData['boxfest/project']?.startsWith(p.base));
}

describe.skipIf(skipped)('VirtualBox lifecycle on a real vboxwebsrv', () => {
  let p: TestProject;
  let boxImage: string;
  let boxSha: string;
  let firstUp: { code: number; stderr: string };

  beforeAll(async () => {
    p = new TestProject({ 'Boxfile.yaml': BOXFILE(inject('vboxUrl')) }, { baseDir: share });
    await p.addTinyBox();
    boxImage = p.storedImage();
    boxSha = sha256(boxImage);
    firstUp = await p.run(['up']);
  });

  afterAll(async () => {
    try {
      await p.run(['destroy', '--force']).catch(() => undefined);
      await cleanServer(p.home, p.base);
    } finally {
      rmSync(p.base, { recursive: true, force: true });
    }
  });

  it('reports the missing kernel driver in plain words, with the fix', () => {
    expect(firstUp.code).toBe(1);
    expect(firstUp.stderr).toContain('[VBOX_NO_KERNEL_DRIVER]');
    expect(firstUp.stderr).toContain(
      'error (machine web, step boot): VirtualBox could not start machine web',
    );
    expect(firstUp.stderr).toMatch(/virtualbox-dkms.*modprobe vboxdrv.*provider: qemu/s);
    expect(firstUp.stderr).not.toMatch(/^\s+at /m); // no stack trace for a user error
  });

  it('registers the machine with the Boxfile’s memory, CPUs, NICs and tags', async () => {
    const [vm, ...others] = ours(await serverMachines(p.home), p);
    expect(others).toEqual([]);
    expect(vm).toMatchObject({ memory: 384, cpus: 2, osType: 'Linux_64' });
    expect(vm!.name).toMatch(/^boxfest-project-web-[0-9a-f]{8}$/);
    expect(vm!.extraData).toMatchObject({
      'boxfest/project': p.root,
      'boxfest/machine': 'web',
    });
    // What a boot applied is recorded in state.json only: no tag the provider never reads.
    expect(Object.keys(vm!.extraData).filter((k) => k.startsWith('boxfest/spec'))).toEqual([]);
    const port = Number(vm!.extraData['boxfest/ssh-port']);
    expect(port).toBeGreaterThan(1023);
    expect(vm!.nics).toHaveLength(2);
    expect(vm!.nics[0]).toMatchObject({ slot: 0, attachment: 'NAT' });
    expect(vm!.nics[0]!.redirects.sort()).toEqual([
      `port-1,1,127.0.0.1,18080,,80`,
      `ssh,1,127.0.0.1,${port},,22`,
    ]);
    expect(vm!.nics[1]).toMatchObject({ slot: 1, attachment: 'Bridged', bridged: 'eth0' });
    // An ssh-key box too: the NAT NIC has boxfest's stable MAC (not one VirtualBox picked), the
    // attachment the Boxfile's.
    expect(vm!.nics.map((n) => n.mac)).toEqual([vboxMac(macFor(p.root, 'web', 0)), '525400123456']);
  });

  it('gives the machine a differencing disk whose parent is the box’s medium', async () => {
    const vm = ours(await serverMachines(p.home), p)[0]!;
    const disks = await serverHardDisks(p.home);
    const box = disks.find((d) => d.location === boxImage);
    expect(box).toMatchObject({ parent: '', type: 'Immutable' });
    const media = JSON.parse(vm.extraData['boxfest/media'] ?? '[]') as string[];
    expect(media).toHaveLength(1);
    expect(media[0]).toMatch(/\/web-disk\.vdi$/);
    const diff = disks.find((d) => d.location === media[0]);
    expect(diff).toMatchObject({ parent: box!.id, autoReset: false, type: 'Normal' });
    expect(vm.extraData['boxfest/box-medium']).toBe(box!.id);
  });

  it('creates nothing new on a second up (which fails to launch the same way)', async () => {
    const before = { machines: ours(await serverMachines(p.home), p), disks: await serverHardDisks(p.home) };
    const again = await p.run(['up', '--json']);
    expect(again.code).toBe(1);
    // --json: one document on stdout, the failure typed in it.
    const doc = JSON.parse(again.stdout) as {
      machine: string;
      ok: boolean;
      error?: { code: string };
    }[];
    expect(doc[0]).toMatchObject({
      machine: 'web',
      ok: false,
      error: { code: 'VBOX_NO_KERNEL_DRIVER' },
    });
    const after = { machines: ours(await serverMachines(p.home), p), disks: await serverHardDisks(p.home) };
    expect(after.machines.map((m) => m.name)).toEqual(before.machines.map((m) => m.name));
    expect(after.disks.map((d) => d.id).sort()).toEqual(before.disks.map((d) => d.id).sort());
  });

  it('keeps the machine it created, with its state: the box counts it as a user, the ports are given back', async () => {
    const vm = ours(await serverMachines(p.home), p)[0]!;
    const state = JSON.parse(readFileSync(p.machine('web').state, 'utf8')) as MachineState;
    // The host-port service chose the SSH port and recorded it in state.json before the launch.
    expect(state.sshPort).toBe(Number(vm.extraData['boxfest/ssh-port']));
    expect(state.ports).toEqual([
      { guest: 80, host: 18080, hostIp: '127.0.0.1', protocol: 'tcp', requested: 18080 },
    ]);
    // The failed launch gave its reservations back.
    expect(portHolders(p.home).filter((h) => h.project === p.root)).toEqual([]);
    // Recorded beside the image it is made from (the box's qcow2 entry).
    expect(readdirSync(join(dirname(p.storedImage()), 'users'))).toHaveLength(1);
    const r = await p.run(['box', 'remove', 'tiny']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('[BOX_IN_USE]');
    expect(sha256(boxImage)).toBe(boxSha);
  });

  it('status, plan and halt find the machine from a fresh checkout (no .boxfest/) through its tags', async () => {
    rmSync(join(p.root, '.boxfest'), { recursive: true, force: true });
    const r = await p.ok(['status', '--json']);
    expect(JSON.parse(r.stdout)).toEqual([
      {
        name: 'web',
        state: 'halted',
        provider: 'virtualbox',
        box: { name: 'tiny', version: null },
        networks: [],
        next: 'start',
        changes: [],
      },
    ]);
    const plan = JSON.parse((await p.ok(['plan', '--json'])).stdout) as { machines: { action: string }[] };
    expect(plan.machines.map((m) => m.action)).toEqual(['start']);
    const halt = await p.ok(['halt']);
    expect(halt.stderr).toContain('web: not running');
  });

  it('never touches another project’s machine, even one with the same Boxfile', async () => {
    const other = new TestProject({ 'Boxfile.yaml': BOXFILE(inject('vboxUrl')) }, { baseDir: share });
    try {
      cpSync(join(p.home, 'boxes'), join(other.home, 'boxes'), { recursive: true });
      const st = await other.ok(['status', '--json']);
      expect((JSON.parse(st.stdout) as { state: string }[])[0]!.state).toBe('not_created');
      const d = await other.ok(['destroy', '--force']);
      expect(d.stderr).toContain('nothing to destroy');
      expect(ours(await serverMachines(p.home), p)).toHaveLength(1);
    } finally {
      await cleanServer(other.home, other.base);
      rmSync(other.base, { recursive: true, force: true });
    }
  });

  it('destroy from the fresh checkout leaves no machine, no diff disk, and the box image unchanged', async () => {
    const media = JSON.parse(
      ours(await serverMachines(p.home), p)[0]!.extraData['boxfest/media']!,
    ) as string[];
    await p.ok(['destroy', '--force']);
    expect(ours(await serverMachines(p.home), p)).toEqual([]);
    const disks = await serverHardDisks(p.home);
    expect(disks.filter((d) => media.includes(d.location))).toEqual([]);
    expect(disks.some((d) => d.location === boxImage)).toBe(true); // the box stays open for the next machine
    expect(sha256(boxImage)).toBe(boxSha);
    const st = await p.ok(['status', '--json']);
    expect((JSON.parse(st.stdout) as { state: string }[])[0]!.state).toBe('not_created');
  });
});

describe.skipIf(skipped)('VirtualBox networks that cannot be made here', () => {
  const projects: TestProject[] = [];
  afterAll(async () => {
    for (const p of projects) {
      try {
        await cleanServer(p.home, p.base);
      } finally {
        rmSync(p.base, { recursive: true, force: true });
      }
    }
  });

  it.each([
    {
      name: 'private network without a host-only driver',
      network: 'net: { type: private, cidr: 192.168.77.0/24, dhcp: true }',
      code: 'VBOX_HOST_ONLY_UNAVAILABLE',
      says: /modprobe vboxnetadp.*VBoxManage hostonlyif ipconfig vboxnet0 --ip 192\.168\.77\.1 --netmask 255\.255\.255\.0/s,
    },
    {
      name: 'bridged network on an interface the host lacks',
      network: 'net: { type: bridged, interface: nosuch0 }',
      code: 'VBOX_NO_HOST_INTERFACE',
      says: /has no interface `nosuch0`.*one of: eth0/s,
    },
  ])('$name: up says what to do and creates nothing', async ({ network, code, says }) => {
    const p = new TestProject(
      {
        'Boxfile.yaml': `version: 1\nprovider: virtualbox\nnetworks:\n  ${network}\nmachines:\n  web: { box: tiny, networks: [{ network: net }] }\n`,
      },
      { baseDir: share },
    );
    projects.push(p);
    await p.addTinyBox();
    const r = await p.run(['up']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`[${code}]`);
    expect(r.stderr).toMatch(says);
    expect(ours(await serverMachines(p.home), p)).toEqual([]);
    expect(
      (await serverHardDisks(p.home)).filter((d) => d.location.startsWith(p.base) && d.parent !== ''),
    ).toEqual([]);
  });
});

describe.skipIf(skipped)('VirtualBox machines sharing one box', () => {
  let p: TestProject;
  afterAll(async () => {
    try {
      await cleanServer(p.home, p.base);
    } finally {
      rmSync(p.base, { recursive: true, force: true });
    }
  });

  it('two machines brought up in parallel get two diffs on the one box medium; destroy keeps the box', async () => {
    p = new TestProject(
      {
        'Boxfile.yaml':
          'version: 1\nprovider: virtualbox\ndefaults: { box: tiny, memory: 256 }\nmachines:\n  a:\n  b: { cpus: 2, virtualbox: { os_type: Debian_64 } }\n',
      },
      { baseDir: share },
    );
    await p.addTinyBox();
    const boxImage = p.storedImage();
    const r = await p.run(['up']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error: 2 of 2 machine(s) failed');
    const vms = ours(await serverMachines(p.home), p).sort((x, y) => x.name.localeCompare(y.name));
    expect(vms.map((m) => [m.extraData['boxfest/machine'], m.cpus, m.memory, m.osType])).toEqual([
      ['a', 1, 256, 'Linux_64'],
      ['b', 2, 256, 'Debian_64'],
    ]);
    const disks = await serverHardDisks(p.home);
    const box = disks.filter((d) => d.location === boxImage);
    expect(box).toHaveLength(1);
    expect(
      disks
        .filter((d) => d.parent === box[0]!.id)
        .map((d) => d.location.split('/').pop())
        .sort(),
    ).toEqual(['a-disk.vdi', 'b-disk.vdi']);
    await p.ok(['destroy', '--force', 'a']);
    expect(ours(await serverMachines(p.home), p).map((m) => m.extraData['boxfest/machine'])).toEqual(['b']);
    await p.ok(['destroy', '--force']);
    expect(ours(await serverMachines(p.home), p)).toEqual([]);
    expect((await serverHardDisks(p.home)).filter((d) => d.parent === box[0]!.id)).toEqual([]);
  });
});

describe.skipIf(skipped)('a VM boxfest did not create', () => {
  it('with the name boxfest would use is refused by up, status and destroy, and left as it was', async () => {
    const p = new TestProject(
      { 'Boxfile.yaml': 'version: 1\nprovider: virtualbox\nmachines:\n  web: { box: tiny }\n' },
      { baseDir: share },
    );
    const name = vmName({ root: p.root, name: 'project' } as Environment, 'web');
    try {
      await p.addTinyBox();
      await onServer(p.home, async (s) => {
        const m = await s.call(
          'IVirtualBox_createMachine',
          adapterFor(s.api).createMachine(s.vbox, { name, osTypeId: 'Other', flags: '', groups: [] }),
        );
        await s.call('IMachine_saveSettings', { _this: m });
        await s.call('IVirtualBox_registerMachine', { _this: s.vbox, machine: m });
      });
      for (const args of [['up'], ['status'], ['destroy', '--force']]) {
        const r = await p.run(args);
        expect(r.code, args.join(' ')).toBe(1);
        expect(r.stderr).toContain('[VBOX_NOT_OURS]');
        expect(r.stderr).toContain('boxfest never changes a VM it does not own');
      }
      const vm = (await serverMachines(p.home)).find((m) => m.name === name);
      // As VirtualBox made it: no boxfest tags, its default NAT NIC without redirects.
      expect(vm).toMatchObject({
        osType: 'Other',
        extraData: {},
        nics: [{ slot: 0, attachment: 'NAT', redirects: [] }],
      });
    } finally {
      await onServer(p.home, async (s) => {
        const m = await s.call('IVirtualBox_findMachine', { _this: s.vbox, nameOrId: name }).catch(() => '');
        if (m === '') return;
        await s.call('IMachine_unregister', { _this: m, cleanupMode: 'UnregisterOnly' });
        await s.wait(await s.call('IMachine_deleteConfig', { _this: m, media: [] }), 'IMachine_deleteConfig');
      });
      await cleanServer(p.home, p.base);
      rmSync(p.base, { recursive: true, force: true });
    }
  });
});

describe.skipIf(skipped)('a VM left half made by an interrupted up', () => {
  it('is removed and made again by the next up', async () => {
    const p = new TestProject(
      { 'Boxfile.yaml': 'version: 1\nprovider: virtualbox\nmachines:\n  web: { box: tiny }\n' },
      { baseDir: share },
    );
    try {
      await p.addTinyBox();
      // What create leaves when it dies right after registering: tags, but no disk yet.
      await onServer(p.home, async (s) => {
        const name = vmName({ root: p.root, name: 'project' } as Environment, 'web');
        const m = await s.call(
          'IVirtualBox_createMachine',
          adapterFor(s.api).createMachine(s.vbox, { name, osTypeId: 'Other', flags: '', groups: [] }),
        );
        for (const [key, value] of [
          ['boxfest/project', p.root],
          ['boxfest/machine', 'web'],
        ])
          await s.call('IMachine_setExtraData', { _this: m, key, value });
        await s.call('IMachine_saveSettings', { _this: m });
        await s.call('IVirtualBox_registerMachine', { _this: s.vbox, machine: m });
      });
      const status = JSON.parse((await p.ok(['status', '--json'])).stdout) as {
        state: string;
        next: string;
      }[];
      expect(status[0]).toMatchObject({ state: 'broken', next: 'create' });
      const r = await p.run(['up']);
      expect(r.stderr).toContain('[VBOX_NO_KERNEL_DRIVER]');
      const vms = ours(await serverMachines(p.home), p);
      expect(vms).toHaveLength(1);
      expect(vms[0]).toMatchObject({ osType: 'Linux_64' });
      const media = JSON.parse(vms[0]!.extraData['boxfest/media'] ?? '[]') as string[];
      expect((await serverHardDisks(p.home)).filter((d) => media.includes(d.location))).toHaveLength(1);
    } finally {
      await cleanServer(p.home, p.base);
      rmSync(p.base, { recursive: true, force: true });
    }
  });
});
