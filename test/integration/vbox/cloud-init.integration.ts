// A cloud-init box on a real vboxwebsrv 7.2: the machine's NoCloud seed (the same ISO the QEMU
// provider attaches) goes to the VM as a read-only DVD on the SATA controller, read back through
// SOAP; destroy detaches and closes it and leaves the file to the project. No kernel driver here,
// so the VM never runs: the attach is what is proven, and that every NIC the seed's network-config
// matches by MAC has that MAC on the server.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parse } from 'yaml';
import { TestProject } from '../harness.js';
import type { Ref } from '../../../src/providers/virtualbox/invoke.js';
import { cleanServer, onServer, serverMachines } from './server.js';

const skipped = inject('vboxSkipped');

const BOXFILE = (url: string) => `version: 1
provider: virtualbox
virtualbox: { url: ${url} }
networks:
  lan: { type: bridged, interface: eth0 }
machines:
  web:
    box: cloud
    networks: [{ network: lan }]
    cloud_init: { runcmd: [touch /run/from-the-boxfile] }
`;

interface Dvd {
  location: string;
  machineIds: string[];
}

async function dvdImages(home: string): Promise<Dvd[]> {
  return onServer(home, async (s) => {
    const out: Dvd[] = [];
    for (const ref of await s.call<Ref[]>('IVirtualBox_getDVDImages', { _this: s.vbox }))
      out.push({
        location: await s.call<string>('IMedium_getLocation', { _this: ref }),
        machineIds: await s.call<string[]>('IMedium_getMachineIds', { _this: ref }),
      });
    return out;
  });
}

async function attachedAt(home: string, vmName: string, port: number): Promise<string> {
  return onServer(home, async (s) => {
    const vm = await s.call<Ref>('IVirtualBox_findMachine', { _this: s.vbox, nameOrId: vmName });
    const medium = await s.call<Ref>('IMachine_getMedium', {
      _this: vm,
      name: 'SATA',
      controllerPort: port,
      device: 0,
    });
    return s.call<string>('IMedium_getLocation', { _this: medium });
  });
}

/**
 * A file of an ISO 9660 image by its Joliet name, read as a guest's kernel would: the Joliet
 * descriptor (escape `%/E`), its root directory record, then the directory's records.
 */
function isoFile(image: string, name: string): string {
  const img = readFileSync(image);
  const SECTOR = 2048;
  for (let sector = 16; img[sector * SECTOR] !== 255; sector++) {
    const d = img.subarray(sector * SECTOR, (sector + 1) * SECTOR);
    if (d[0] !== 2 || d.subarray(88, 91).toString('latin1') !== '%/E') continue;
    const root = d.subarray(156, 156 + 34);
    const dir = img.subarray(
      root.readUInt32LE(2) * SECTOR,
      root.readUInt32LE(2) * SECTOR + root.readUInt32LE(10),
    );
    for (let at = 0; at < dir.length && dir[at]! > 0; at += dir[at]!) {
      const r = dir.subarray(at, at + dir[at]!);
      if ((r[25]! & 0x02) !== 0) continue; // `.` and `..` (one-byte names), subdirectories
      const id = Buffer.from(r.subarray(33, 33 + r[32]!))
        .swap16()
        .toString('utf16le');
      if (id.replace(/;1$/, '') === name)
        return img
          .subarray(r.readUInt32LE(2) * SECTOR, r.readUInt32LE(2) * SECTOR + r.readUInt32LE(10))
          .toString('utf8');
    }
  }
  throw new Error(`${image}: no ${name}`);
}

describe.skipIf(skipped)('a cloud-init box on a real vboxwebsrv', () => {
  let p: TestProject;
  let up: { code: number; stderr: string };

  beforeAll(async () => {
    p = new TestProject({ 'Boxfile.yaml': BOXFILE(inject('vboxUrl')) }, { baseDir: inject('vboxShare') });
    await p.ok(['box', 'add', 'cloud', p.boxImage, '--cloud-init']);
    up = await p.run(['up']);
  });

  afterAll(async () => {
    try {
      await p.run(['destroy', '--force']).catch(() => undefined);
      await cleanServer(p.home, p.base);
    } finally {
      await p.cleanup();
    }
  });

  it('gets as far as starting the VM (no kernel driver here); the VM and the machine’s seed stay', () => {
    expect(up.stderr).toContain('[VBOX_NO_KERNEL_DRIVER]');
    expect(up.stderr).toContain('step boot');
    // VirtualBox keeps what it created when the launch fails, and so the machine keeps its state
    // and seed: the next `up` only starts it.
    const seed = p.machine('web').seed;
    const blkid = execFileSync('blkid', ['-p', '-o', 'export', seed], { encoding: 'utf8' });
    expect(blkid).toMatch(/^TYPE=iso9660$/m);
    expect(blkid).toMatch(/^LABEL=cidata$/m);
  });

  it('attaches the seed read-only as a DVD on SATA port 1, the disk on port 0', async () => {
    const vm = (await serverMachines(p.home)).find((m) => m.extraData['boxfest/project'] === p.root)!;
    const seed = p.machine('web').seed;
    expect(vm.extraData['boxfest/seed']).toBe(seed);
    expect(await attachedAt(p.home, vm.name, 1)).toBe(seed);
    expect(await attachedAt(p.home, vm.name, 0)).toMatch(/\/web-disk\.vdi$/);
    const dvd = (await dvdImages(p.home)).find((d) => d.location === seed);
    expect(dvd?.machineIds).toHaveLength(1);
  });

  it('gives each NIC on the server the MAC the seed’s network-config matches: eth0 the NAT, eth1 the bridge', async () => {
    const vm = (await serverMachines(p.home)).find((m) => m.extraData['boxfest/project'] === p.root)!;
    const config = parse(isoFile(p.machine('web').seed, 'network-config')) as {
      ethernets: Record<string, { match: { macaddress: string } }>;
    };
    const seedMac = (iface: string) =>
      config.ethernets[iface]!.match.macaddress.replaceAll(':', '').toUpperCase();
    expect(Object.keys(config.ethernets).sort()).toEqual(['eth0', 'eth1']);
    expect(vm.nics.map((n) => [n.slot, n.attachment, n.mac])).toEqual([
      [0, 'NAT', seedMac('eth0')],
      [1, 'Bridged', seedMac('eth1')],
    ]);
  });

  it('destroy closes the DVD image on the server and removes the VM', async () => {
    const seed = p.machine('web').seed;
    await p.ok(['destroy', '--force']);
    expect((await serverMachines(p.home)).filter((m) => m.extraData['boxfest/project'] === p.root)).toEqual(
      [],
    );
    expect((await dvdImages(p.home)).map((d) => d.location)).not.toContain(seed);
    // The box image it was made from is untouched, still in the store.
    expect(existsSync(p.boxImage)).toBe(true);
  });
});
