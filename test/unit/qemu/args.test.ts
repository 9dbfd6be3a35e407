// The QEMU command line is a pure function of the machine: assert it option by option.

import { describe, expect, it } from 'vitest';
import { macFor, qemuArgs } from '../../../src/providers/qemu/args.js';
import type { LaunchInput, LaunchNic } from '../../../src/providers/qemu/args.js';
import type { PortMapping } from '../../../src/state/machine-state.js';
import { qemuPaths } from '../../../src/providers/qemu/paths.js';
import { machinePaths } from '../../../src/state/paths.js';
import { spec } from '../helpers.js';

/** The QEMU files of machine `web` of the project at `root`. */
const filesOf = (root: string) => qemuPaths(machinePaths(root, 'web').dir);

function input(over: Partial<LaunchInput> = {}): LaunchInput {
  return {
    project: '/proj',
    spec: spec('web', { cpus: 3, memory: 2048 }),
    paths: filesOf('/proj'),
    diskInterface: 'virtio',
    accel: 'tcg',
    sshPort: 2222,
    restrictNat: true,
    ...over,
  };
}

/** The value that follows each occurrence of `flag`. */
function valuesOf(args: string[], flag: string): string[] {
  return args.flatMap((a, i) => (a === flag ? [args[i + 1] ?? '<missing>'] : []));
}

describe('qemuArgs', () => {
  it('builds the whole command line', () => {
    expect(qemuArgs(input())).toEqual([
      '-name',
      'boxfest-web',
      '-accel',
      'tcg',
      '-m',
      '2048',
      '-smp',
      '3',
      '-nodefaults',
      '-no-user-config',
      '-display',
      'none',
      '-chardev',
      'file,id=serial0,path=/proj/.boxfest/machines/web/serial.log',
      '-serial',
      'chardev:serial0',
      '-drive',
      'if=none,id=disk0,file=/proj/.boxfest/machines/web/disk.qcow2,format=qcow2,discard=unmap',
      '-device',
      'virtio-blk-pci,drive=disk0',
      '-netdev',
      'user,id=nat0,restrict=on,hostfwd=tcp:127.0.0.1:2222-:22',
      '-device',
      `virtio-net-pci,netdev=nat0,mac=${macFor('/proj', 'web', 0)}`,
      '-device',
      'virtio-rng-pci',
      '-qmp',
      'unix:/proj/.boxfest/machines/web/qmp.sock,server=on,wait=off',
      '-pidfile',
      '/proj/.boxfest/machines/web/qemu.pid',
      '-daemonize',
    ]);
  });

  it.each<[LaunchInput['diskInterface'], string]>([
    ['virtio', 'virtio-blk-pci,drive=disk0'],
    ['nvme', 'nvme,drive=disk0,serial=boxfest0'],
  ])('attaches the disk through %s', (diskInterface, device) => {
    const devices = valuesOf(qemuArgs(input({ diskInterface })), '-device');
    expect(devices[0]).toBe(device);
    expect(devices.filter((d) => d.includes('drive=disk0'))).toEqual([device]);
  });

  it.each<[boolean, string]>([
    [true, 'user,id=nat0,restrict=on,hostfwd=tcp:127.0.0.1:2222-:22'],
    [false, 'user,id=nat0,hostfwd=tcp:127.0.0.1:2222-:22'],
  ])('restrictNat=%s gives netdev %s', (restrictNat, netdev) => {
    const args = qemuArgs(input({ restrictNat }));
    expect(valuesOf(args, '-netdev')).toEqual([netdev]);
    expect(args.some((a) => a.includes('restrict=on'))).toBe(restrictNat);
  });

  it.each<[LaunchInput['accel'], string[]]>([
    ['kvm', ['-accel', 'kvm', '-cpu', 'host', '-m']],
    ['tcg', ['-accel', 'tcg', '-m']],
  ])('-accel %s', (accel, expected) => {
    const args = qemuArgs(input({ accel }));
    const at = args.indexOf('-accel');
    expect(args.slice(at, at + expected.length)).toEqual(expected);
    expect(valuesOf(args, '-cpu')).toEqual(accel === 'kvm' ? ['host'] : []);
  });

  it.each([
    [22, 'hostfwd=tcp:127.0.0.1:22-:22'],
    [2222, 'hostfwd=tcp:127.0.0.1:2222-:22'],
    [65535, 'hostfwd=tcp:127.0.0.1:65535-:22'],
  ])('forwards host port %i, on loopback only, to guest port 22', (sshPort, fwd) => {
    const [netdev] = valuesOf(qemuArgs(input({ sshPort })), '-netdev');
    expect(netdev?.split(',').filter((o) => o.startsWith('hostfwd='))).toEqual([fwd]);
  });

  it.each([
    [1, 256],
    [2, 1024],
    [16, 65536],
  ])('passes cpus=%i and memory=%i MiB', (cpus, memory) => {
    const args = qemuArgs(input({ spec: spec('web', { cpus, memory }) }));
    expect(valuesOf(args, '-m')).toEqual([String(memory)]);
    expect(valuesOf(args, '-smp')).toEqual([String(cpus)]);
  });

  it('doubles commas in paths inside option strings', () => {
    const paths = filesOf('/home/a,b/proj');
    const args = qemuArgs(input({ project: '/home/a,b/proj', paths }));
    expect(valuesOf(args, '-drive')).toEqual([
      'if=none,id=disk0,file=/home/a,,b/proj/.boxfest/machines/web/disk.qcow2,format=qcow2,discard=unmap',
    ]);
    expect(valuesOf(args, '-qmp')).toEqual([
      'unix:/home/a,,b/proj/.boxfest/machines/web/qmp.sock,server=on,wait=off',
    ]);
    expect(valuesOf(args, '-chardev')).toEqual([
      'file,id=serial0,path=/home/a,,b/proj/.boxfest/machines/web/serial.log',
    ]);
    // -pidfile takes a plain path, not an option string.
    expect(valuesOf(args, '-pidfile')).toEqual(['/home/a,b/proj/.boxfest/machines/web/qemu.pid']);
  });

  it('uses the tmpdir QMP socket for a long project path', () => {
    const root = `/${'x'.repeat(120)}`;
    const paths = filesOf(root);
    expect(valuesOf(qemuArgs(input({ project: root, paths })), '-qmp')).toEqual([
      `unix:${paths.qmp},server=on,wait=off`,
    ]);
  });

  it('daemonizes and writes a pidfile', () => {
    const args = qemuArgs(input());
    expect(args.filter((a) => a === '-daemonize')).toHaveLength(1);
    expect(valuesOf(args, '-pidfile')).toEqual(['/proj/.boxfest/machines/web/qemu.pid']);
  });

  it('names the process after the machine and gives its NIC the machine MAC', () => {
    const args = qemuArgs(input({ project: '/p', spec: spec('db') }));
    expect(valuesOf(args, '-name')).toEqual(['boxfest-db']);
    expect(valuesOf(args, '-device')).toContain(`virtio-net-pci,netdev=nat0,mac=${macFor('/p', 'db', 0)}`);
  });
});

describe("qemuArgs: the guest's RAM", () => {
  const virtiofs = { type: 'virtiofs' as const, tag: 'app', socket: '/run/fs.sock' };
  it.each<[string, Partial<LaunchInput>, string | undefined]>([
    ['anonymous by default', {}, undefined],
    [
      'a shared memfd for virtiofsd',
      { shares: [virtiofs] },
      'memory-backend-memfd,id=mem0,size=2048M,share=on',
    ],
    [
      "the golden VM's RAM file, shared",
      { ramFile: { path: '/h/states/k/ram.partial', share: true }, incoming: false },
      'memory-backend-file,id=mem0,size=2048M,mem-path=/h/states/k/ram.partial,share=on',
    ],
    [
      'a restore maps it privately (copy-on-write); commas in the path doubled',
      { ramFile: { path: '/h/a,b/ram', share: false }, incoming: true },
      'memory-backend-file,id=mem0,size=2048M,mem-path=/h/a,,b/ram,share=off',
    ],
  ])('%s', (_, over, backend) => {
    const args = qemuArgs(input(over));
    expect(valuesOf(args, '-object').filter((o) => o.startsWith('memory-backend'))).toEqual(
      backend === undefined ? [] : [backend],
    );
    expect(valuesOf(args, '-machine')).toEqual(backend === undefined ? [] : ['memory-backend=mem0']);
    expect(args.includes('-incoming')).toBe(over.incoming === true);
  });

  it('never both: a RAM file is refused with live virtiofs shares', () => {
    expect(() => qemuArgs(input({ shares: [virtiofs], ramFile: { path: '/r', share: false } }))).toThrow(
      /internal/,
    );
  });
});

describe('macFor', () => {
  const MAC = /^52:54:00(:[0-9a-f]{2}){3}$/;

  it.each([
    ['/proj', 'web', 0],
    ['/proj', 'db', 0],
    ['/other', 'web', 0],
    ['/proj', 'web', 1],
    ['', '', 0],
  ])('macFor(%j, %j, %i) is a 52:54:00 MAC, the same every time', (project, machine, nic) => {
    const mac = macFor(project, machine, nic);
    expect(mac).toMatch(MAC);
    expect(macFor(project, machine, nic)).toBe(mac);
  });

  // Pinned: a new formula would give every existing guest a new MAC (and a new DHCP lease).
  it.each([
    ['/proj', 'web', 0, '52:54:00:ee:d4:8b'],
    ['/proj', 'db', 0, '52:54:00:5e:9b:c8'],
    ['/other', 'web', 0, '52:54:00:55:5f:d3'],
    ['/proj', 'web', 1, '52:54:00:18:cf:aa'],
  ])('macFor(%j, %j, %i) is %s', (project, machine, nic, mac) => {
    expect(macFor(project, machine, nic)).toBe(mac);
  });

  it('differs across machines, projects and NICs', () => {
    const macs = [
      macFor('/proj', 'web', 0),
      macFor('/proj', 'db', 0),
      macFor('/proj', 'cache', 0),
      macFor('/other', 'web', 0),
      macFor('/other', 'db', 0),
      macFor('/proj', 'web', 1),
    ];
    expect(new Set(macs).size).toBe(macs.length);
  });

  it('does not confuse the project/machine boundary', () => {
    expect(macFor('/proj/a', 'b', 0)).not.toBe(macFor('/proj', 'a/b', 0));
    expect(macFor('ab', 'c', 0)).not.toBe(macFor('a', 'bc', 0));
  });
});

describe('qemuArgs with networks and forwarded ports', () => {
  const privateNic: LaunchNic = {
    index: 1,
    network: 'backend',
    kind: 'private',
    mac: '52:54:00:aa:bb:01',
    ip: '192.168.56.2',
    prefix: 24,
    allocated: true,
    switchCtl: '/proj/.boxfest/networks/backend/switch.ctl',
  };
  const bridgedNic: LaunchNic = {
    index: 2,
    network: 'lan',
    kind: 'bridged',
    mac: '52:54:00:aa:bb:02',
    bridge: 'br0',
    helper: '/usr/lib/qemu/qemu-bridge-helper',
  };

  it('adds one -netdev/-device pair per NIC, after the NAT and before the RNG', () => {
    const args = qemuArgs(input({ nics: [privateNic, bridgedNic] }));
    expect(valuesOf(args, '-netdev')).toEqual([
      'user,id=nat0,restrict=on,hostfwd=tcp:127.0.0.1:2222-:22',
      'vde,id=net1,sock=/proj/.boxfest/networks/backend/switch.ctl',
      'tap,id=net2,br=br0,helper=/usr/lib/qemu/qemu-bridge-helper',
    ]);
    expect(valuesOf(args, '-device')).toEqual([
      'virtio-blk-pci,drive=disk0',
      `virtio-net-pci,netdev=nat0,mac=${macFor('/proj', 'web', 0)}`,
      'virtio-net-pci,netdev=net1,mac=52:54:00:aa:bb:01',
      'virtio-net-pci,netdev=net2,mac=52:54:00:aa:bb:02',
      'virtio-rng-pci',
    ]);
    const at = args.indexOf('vde,id=net1,sock=/proj/.boxfest/networks/backend/switch.ctl');
    expect(args.slice(at - 1, at + 7)).toEqual([
      '-netdev',
      'vde,id=net1,sock=/proj/.boxfest/networks/backend/switch.ctl',
      '-device',
      'virtio-net-pci,netdev=net1,mac=52:54:00:aa:bb:01',
      '-netdev',
      'tap,id=net2,br=br0,helper=/usr/lib/qemu/qemu-bridge-helper',
      '-device',
      'virtio-net-pci,netdev=net2,mac=52:54:00:aa:bb:02',
    ]);
  });

  it.each<[string, LaunchNic, string]>([
    [
      'a private switch path',
      { ...privateNic, switchCtl: '/home/a,b/sw.ctl' },
      'vde,id=net1,sock=/home/a,,b/sw.ctl',
    ],
    [
      'a bridged helper command and bridge',
      { ...bridgedNic, bridge: 'br,0', helper: 'ip netns exec lab,1 /usr/lib/qemu/qemu-bridge-helper' },
      'tap,id=net2,br=br,,0,helper=ip netns exec lab,,1 /usr/lib/qemu/qemu-bridge-helper',
    ],
  ])('doubles commas in %s', (_, nic, netdev) => {
    expect(valuesOf(qemuArgs(input({ nics: [nic] })), '-netdev')[1]).toBe(netdev);
  });

  it('numbers netdevs by NIC index', () => {
    const args = qemuArgs(input({ nics: [{ ...bridgedNic, index: 5 }] }));
    expect(valuesOf(args, '-netdev')[1]).toBe('tap,id=net5,br=br0,helper=/usr/lib/qemu/qemu-bridge-helper');
    expect(valuesOf(args, '-device')).toContain('virtio-net-pci,netdev=net5,mac=52:54:00:aa:bb:02');
  });

  it.each<[string, PortMapping[], string]>([
    ['no forwards', [], 'user,id=nat0,restrict=on,hostfwd=tcp:127.0.0.1:2222-:22'],
    [
      'tcp and udp forwards after the SSH one, host_ip kept',
      [
        { guest: 80, host: 8080, hostIp: '127.0.0.1', protocol: 'tcp', requested: 8080 },
        { guest: 53, host: 5353, hostIp: '0.0.0.0', protocol: 'udp', requested: 5353 },
        { guest: 443, host: 2201, hostIp: '192.168.1.10', protocol: 'tcp', requested: 8443 },
      ],
      'user,id=nat0,restrict=on,hostfwd=tcp:127.0.0.1:2222-:22,hostfwd=tcp:127.0.0.1:8080-:80,hostfwd=udp:0.0.0.0:5353-:53,hostfwd=tcp:192.168.1.10:2201-:443',
    ],
  ])('%s', (_, forwards, netdev) => {
    const args = qemuArgs(input({ forwards }));
    expect(valuesOf(args, '-netdev')).toEqual([netdev]);
  });

  it('forwards the chosen host port, not the requested one; the SSH forward follows ssh.port', () => {
    const args = qemuArgs(
      input({
        spec: spec('web', { sshGuestPort: 2022 }),
        restrictNat: false,
        forwards: [{ guest: 80, host: 2200, hostIp: '127.0.0.1', protocol: 'tcp', requested: 8080 }],
      }),
    );
    expect(valuesOf(args, '-netdev')).toEqual([
      'user,id=nat0,hostfwd=tcp:127.0.0.1:2222-:2022,hostfwd=tcp:127.0.0.1:2200-:80',
    ]);
  });

  it('keeps extra_args last, after the NICs', () => {
    const args = qemuArgs(
      input({
        nics: [privateNic],
        spec: spec('web', {
          qemu: { accel: 'auto', restrictNetwork: false, extraArgs: ['-device', 'e1000'] },
        }),
      }),
    );
    expect(args.slice(-3)).toEqual(['-daemonize', '-device', 'e1000']);
  });
});

describe('qemuArgs: data disks and the cloud-init seed', () => {
  it('attaches each data disk by name after the system disk, then the seed read-only', () => {
    const args = qemuArgs(
      input({
        dataDisks: [{ name: 'data', file: '/proj/.boxfest/machines/web/disks/data.qcow2' }],
        seed: '/proj/.boxfest/machines/web/cidata.iso',
      }),
    );
    expect(valuesOf(args, '-drive').slice(1)).toEqual([
      'if=none,id=data0,file=/proj/.boxfest/machines/web/disks/data.qcow2,format=qcow2,discard=unmap',
      'if=none,id=seed0,file=/proj/.boxfest/machines/web/cidata.iso,format=raw,readonly=on',
    ]);
    expect(valuesOf(args, '-device').slice(1, 3)).toEqual([
      'virtio-blk-pci,drive=data0,serial=boxfest-data',
      'virtio-blk-pci,drive=seed0,serial=boxfest-cidata',
    ]);
  });
});

describe('qemuArgs: a first boot offered its identity', () => {
  it.each([
    ['no identity', undefined, []],
    ['none to offer', [], []],
    [
      'one fw_cfg item per file, under opt/io.boxfest/',
      [
        { name: 'user', file: '/proj/.boxfest/machines/web/identity/user' },
        { name: 'authorized_keys', file: '/p,q/.boxfest/machines/web/identity/authorized_keys' },
      ],
      [
        'name=opt/io.boxfest/user,file=/proj/.boxfest/machines/web/identity/user',
        // a comma in the path is doubled, as QEMU's option syntax wants
        'name=opt/io.boxfest/authorized_keys,file=/p,,q/.boxfest/machines/web/identity/authorized_keys',
      ],
    ],
  ] as const)('%s', (_, identity, fwCfg) => {
    const args = qemuArgs(input(identity === undefined ? {} : { identity }));
    expect(valuesOf(args, '-fw_cfg')).toEqual(fwCfg);
  });
});
