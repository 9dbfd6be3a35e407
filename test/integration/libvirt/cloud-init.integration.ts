// A cloud-init box on libvirt (issue #17: the same NoCloud seed as on QEMU and VirtualBox), on the
// private libvirtd of this run: ONE Debian machine (the Debian test box, as in guests.integration.ts),
// booted twice (about 60 and 70 s of TCG). The seed write-seed writes on this host goes into a raw
// volume of the pool (the path a remote host's upload takes too: remote.integration.ts), attached
// read-only; the guest logs in with the machine's own key to the host key boxfest made and pinned,
// and cloud-init ran with the machine's instance-id and hostname; halt + up boots again with the
// seed rewritten (a private network added meanwhile reaches the guest through its network-config,
// the instance stays the same; a snapshot of the halted machine leaves the seed out); destroy
// removes the seed volume with the overlay and leaves the box's volume and image.
// Checked with virsh and in the guest, past boxfest's client.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { projectName } from '../../../src/config/defaults.js';
import { consoleHostKeys } from '../../../src/guest/cloud-init.js';
import { domainFacts } from '../../../src/providers/libvirt/domain-xml.js';
import { domainName, overlayVolumeName, seedVolumeName } from '../../../src/providers/libvirt/names.js';
import { serialLogPath } from '../../../src/providers/libvirt/paths.js';
import type { MachineState } from '../../../src/state/machine-state.js';
import { sha256, TestProject } from '../harness.js';
import { LIBVIRT, virsh } from '../targets.js';

const BOXFILE = (network: boolean) =>
  LIBVIRT.boxfile(`version: 1
${network ? 'networks:\n  back: { type: private, cidr: 192.168.97.0/24 }\n' : ''}defaults: { box: debian, memory: 512, boot_timeout: 600 }
machines:
  web:
    hostname: seeded-web
${network ? '    networks: [{ network: back, ip: 192.168.97.10 }]\n' : ''}    cloud_init:
      write_files: [{ path: /etc/from-the-boxfile, content: "written by cloud-init\\n" }]
`);

/** What the guest says, read in ONE SSH session (each login forks an sshd under TCG). */
const FACTS = `
echo '== iid'; cat /var/lib/cloud/data/instance-id
echo '== hostname'; hostname
echo '== hostkey'; sudo cat /etc/ssh/ssh_host_ed25519_key.pub; echo # 0600, no newline: as cloud-init writes it
echo '== authorized'; cat ~/.ssh/authorized_keys
echo '== result'; cat /run/cloud-init/result.json
echo '== boxfile'; cat /etc/from-the-boxfile
seed=$(readlink -f /dev/disk/by-id/virtio-boxfest-cidata)
echo '== ro'; cat /sys/block/\${seed#/dev/}/ro
echo '== label'; sudo blkid -o value -s LABEL "$seed"
echo '== write'; sudo dd if=/dev/zero of="$seed" bs=512 count=1 conv=notrunc status=none 2>/dev/null && echo written || echo refused
echo '== eth1'; ip -4 -o addr show dev eth1 2>/dev/null | awk '{print $4}'
`;

function parseFacts(out: string): Record<string, string> {
  const facts: Record<string, string> = {};
  for (const part of out.split(/^== /m).slice(1)) {
    const nl = part.indexOf('\n');
    facts[part.slice(0, nl)] = part.slice(nl + 1).trim();
  }
  return facts;
}

const lines = (s: string) =>
  s
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
const volumes = () => lines(virsh('vol-list', 'default')).map((l) => l.split(/\s+/)[0] ?? '');
const secs = (t0: number) => ((Date.now() - t0) / 1000).toFixed(1);

describe('libvirt: a cloud-init box boots from its NoCloud seed volume', () => {
  const p = new TestProject({ 'Boxfile.yaml': BOXFILE(false) }, { target: LIBVIRT });
  const project = () => ({ name: projectName(p.root), root: p.root });
  const dom = () => domainName(project(), 'web');
  const seedVol = () => seedVolumeName(project(), 'web');
  const state = () => JSON.parse(readFileSync(p.machine('web').state, 'utf8')) as MachineState;
  const facts = async () => parseFacts((await p.ok(['ssh', 'web', '-c', FACTS])).stdout);
  /** The seed volume's bytes, read from the pool's file (a local pool). */
  const seedBytes = () => readFileSync(lines(virsh('vol-path', '--pool', 'default', seedVol()))[0]!);
  const timings: string[] = [];
  let first: Record<string, string>;

  beforeAll(async () => {
    await p.ok(['box', 'add', 'debian', join(inject('debianBoxDir'), 'box.qcow2'), '--cloud-init']);
    const t0 = Date.now();
    await p.ok(['up']);
    timings.push(`up ${secs(t0)} s`);
    first = await facts();
  }, 900_000);
  afterAll(async () => {
    process.stderr.write(`libvirt cloud-init: ${timings.join(', ')}\n`);
    await p.cleanup();
  });

  it('reaches SSH with its own key, to the host key boxfest made and pinned before the boot', () => {
    const s = state();
    expect(s).toMatchObject({ firstBoot: 'cloud-init', keyReplaced: true, hostKeySource: 'boxfest' });
    const made = readFileSync(p.machine('web').hostKeyPublic, 'utf8').trim();
    expect(s.hostKey).toBe(made);
    // The guest serves that key (cloud-init wrote it from the seed), and only the machine's key logs in.
    expect(first['hostkey']!.split(' ').slice(0, 2).join(' ')).toBe(made.split(' ').slice(0, 2).join(' '));
    expect(first['authorized']!.split('\n')).toEqual([
      readFileSync(p.machine('web').publicKey, 'utf8').trim(),
    ]);
    expect(readFileSync(p.machine('web').knownHosts, 'utf8')).toContain(made.split(' ')[1]);
  });

  it("cloud-init ran from the seed: the machine's instance-id and hostname, the Boxfile's user-data, no errors", () => {
    expect(first['iid']).toBe(state().instanceId);
    expect(first['iid']).toMatch(/^boxfest-web-[0-9a-f]{12}$/);
    expect(first['hostname']).toBe('seeded-web');
    expect(first['boxfile']).toBe('written by cloud-init');
    const result = JSON.parse(first['result']!) as { v1: { datasource: string; errors: unknown[] } };
    expect(result.v1.errors).toEqual([]);
    expect(result.v1.datasource).toMatch(/NoCloud/);
  });

  it('the seed is a volume in the pool, attached read-only (the guest cannot write it)', () => {
    expect(volumes()).toContain(seedVol());
    // What write-seed wrote on this host is what the pool holds.
    expect(seedBytes().equals(readFileSync(p.machine('web').seed))).toBe(true);
    const disks = domainFacts(virsh('dumpxml', '--inactive', dom())).disks;
    expect(disks).toEqual([
      expect.objectContaining({ volume: overlayVolumeName(project(), 'web'), readonly: false }),
      { pool: 'default', volume: seedVol(), format: 'raw', readonly: true, serial: 'boxfest-cidata' },
    ]);
    // The domain's tag lists it after the disk: destroy deletes exactly these.
    expect(domainFacts(virsh('dumpxml', dom())).owner?.volumes.map((v) => v.name)).toEqual([
      overlayVolumeName(project(), 'web'),
      seedVol(),
    ]);
    expect(first['ro']).toBe('1');
    expect(first['label']).toBe('cidata');
    expect(first['write']).toBe('refused');
  });

  it("wait-cloud-init's console check had the keys to compare: the serial log shows the pinned key", () => {
    const log = readFileSync(serialLogPath(dom()), 'utf8');
    const pinned = state().hostKey!.split(' ').slice(0, 2).join(' ');
    expect(consoleHostKeys(log)).toContain(pinned);
  });

  it('halt, then up with a private network added: boots again from the rewritten seed, same instance', async () => {
    let t0 = Date.now();
    await p.ok(['halt']);
    timings.push(`halt ${secs(t0)} s`);
    expect(virsh('domstate', dom()).trim()).toBe('shut off');
    expect(volumes()).toContain(seedVol()); // kept across halt
    // A snapshot of the halted machine (internal, of its qcow2 overlay) leaves the raw seed out.
    await p.ok(['snapshot', 'save', 'cold']);
    expect(lines(virsh('snapshot-list', '--name', dom()))).toEqual(['cold']);
    await p.ok(['snapshot', 'delete', 'cold']);
    writeFileSync(join(p.root, 'Boxfile.yaml'), BOXFILE(true));
    t0 = Date.now();
    await p.ok(['up']);
    timings.push(`up after halt ${secs(t0)} s`);
    const again = await facts();
    // The seed was uploaded again before this boot: the new network-config is in the volume.
    const bytes = seedBytes();
    expect(bytes.equals(readFileSync(p.machine('web').seed))).toBe(true);
    expect(bytes.includes('192.168.97.10')).toBe(true);
    expect(again['eth1']).toBe('192.168.97.10/24');
    // Same instance: per-instance work (user, keys) not redone; the pinned key still serves.
    expect(again['iid']).toBe(first['iid']);
    expect(again['hostkey']).toBe(first['hostkey']);
    expect(again['hostname']).toBe('seeded-web');
  });

  it("destroy removes the domain, the overlay and the seed volume, and leaves the box's volume and image", async () => {
    const images = LIBVIRT.boxImages(p, 'debian');
    expect(images).toHaveLength(2); // the store's image and the pool's box volume
    const sums = images.map(sha256);
    const t0 = Date.now();
    await p.ok(['destroy', '--force']);
    timings.push(`destroy ${secs(t0)} s`);
    expect(LIBVIRT.leftovers(p)).toEqual([]);
    const left = volumes();
    expect(left).not.toContain(seedVol());
    expect(left).not.toContain(overlayVolumeName(project(), 'web'));
    expect(images.map(sha256)).toEqual(sums);
    expect(LIBVIRT.boxImages(p, 'debian')).toEqual(images);
  });
});
