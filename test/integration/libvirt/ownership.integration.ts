// What boxfest never touches on a libvirt host, on the private libvirtd of this run: a domain
// named like one of its machines that it did not tag (up and destroy refuse, it stays as it was),
// and on destroy another project's tagged domain and its volume, and the box's volume below the
// machine's overlay. Checked with virsh, independently of boxfest's client.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectName } from '../../../src/config/defaults.js';
import { domainXml } from '../../../src/providers/libvirt/domain-xml.js';
import { domainName } from '../../../src/providers/libvirt/names.js';
import { sha256, TestProject } from '../harness.js';
import { LIBVIRT, virsh } from '../targets.js';

const lines = (s: string) =>
  s
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
const domains = () => lines(virsh('list', '--all', '--name'));
const volumes = () => lines(virsh('vol-list', 'default')).map((l) => l.split(/\s+/)[0] ?? '');

describe('libvirt: what boxfest does not own survives', () => {
  const p = new TestProject(
    {
      'Boxfile.yaml': LIBVIRT.boxfile(`version: 1
defaults: { box: tiny, memory: 256 }
networks:
  backend: { type: private, cidr: 192.168.57.0/24 }
machines:
  web:
    networks: [{ network: backend, ip: 192.168.57.10 }]
  squatted:
    autostart: false
`),
    },
    { target: LIBVIRT },
  );
  const xmlDir = mkdtempSync(join(tmpdir(), 'boxfest-lv-own-'));
  const project = () => ({ name: projectName(p.root), root: p.root });
  const OTHER = 'boxfest-other-db-0badc0de';
  const OTHER_VOL = `${OTHER}.qcow2`;
  let squatter: string;
  const define = (name: string, xml: string) => {
    const file = join(xmlDir, `${name}.xml`);
    writeFileSync(file, xml);
    virsh('define', file);
  };

  beforeAll(async () => {
    await LIBVIRT.addBox(p);
    // Another project's machine: tagged by boxfest for /elsewhere, with a volume of its own.
    virsh('vol-create-as', 'default', OTHER_VOL, '16M', '--format', 'qcow2');
    define(
      OTHER,
      domainXml({
        name: OTHER,
        virtType: 'qemu',
        memoryMiB: 64,
        cpus: 1,
        disk: { pool: 'default', volume: OTHER_VOL, bus: 'virtio' },
        nics: [],
        serialLog: '/var/log/libvirt/qemu/other.log',
        owner: {
          project: '/elsewhere/other',
          machine: 'db',
          digest: 'b'.repeat(64),
          volumes: [{ pool: 'default', name: OTHER_VOL }],
          createdAt: new Date(0).toISOString(),
        },
      }),
    );
    // A domain with the name boxfest would give `squatted`, made by someone else (no tag).
    squatter = domainName(project(), 'squatted');
    define(
      squatter,
      `<domain type='qemu'><name>${squatter}</name><memory unit='MiB'>64</memory><os><type arch='x86_64'>hvm</type></os></domain>`,
    );
  });
  afterAll(async () => {
    for (const d of [OTHER, squatter]) {
      try {
        virsh('undefine', d);
      } catch {
        // already gone (the test failed before)
      }
    }
    try {
      virsh('vol-delete', '--pool', 'default', OTHER_VOL);
    } catch {
      // already gone
    }
    rmSync(xmlDir, { recursive: true, force: true });
    await p.cleanup();
  });

  it('up refuses a domain named like the machine that boxfest did not tag, and leaves it as it was', async () => {
    const before = virsh('dumpxml', squatter);
    const r = await p.run(['up', 'squatted']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`has a domain named ${squatter} that boxfest did not create for ${p.root}`);
    expect(r.stderr).toContain('boxfest never changes a domain it does not own');
    expect(virsh('dumpxml', squatter)).toBe(before);
  });

  it('destroy removes exactly what boxfest made; the other project, the squatter and the box volume stay', async () => {
    await p.ok(['up', 'web']);
    const ours = domainName(project(), 'web');
    expect(domains()).toEqual(expect.arrayContaining([ours, OTHER, squatter]));
    const boxImages = LIBVIRT.boxImages(p, 'tiny');
    expect(boxImages).toHaveLength(2); // the store's image and the pool's volume
    const boxSha = sha256(p.boxImage);
    const otherXml = virsh('dumpxml', OTHER);

    await p.ok(['destroy', '--force', 'web']);
    expect(domains()).not.toContain(ours);
    expect(volumes()).not.toContain(`${ours}.qcow2`);
    expect(LIBVIRT.networkInfra(p)).toEqual([]);
    // What survives: another project's domain (unchanged) and volume, the squatter, the box.
    expect(domains()).toEqual(expect.arrayContaining([OTHER, squatter]));
    expect(virsh('dumpxml', OTHER)).toBe(otherXml);
    expect(volumes()).toContain(OTHER_VOL);
    for (const image of boxImages) expect(sha256(image), image).toBe(boxSha);

    // Destroying everything refuses the squatter by name and still leaves it.
    const all = await p.run(['destroy', '--force']);
    expect(all.code).toBe(1);
    expect(all.stderr).toContain(squatter);
    expect(domains()).toEqual(expect.arrayContaining([OTHER, squatter]));
    expect(LIBVIRT.leftovers(p)).toEqual([`domain ${squatter}`]);
  });
});
