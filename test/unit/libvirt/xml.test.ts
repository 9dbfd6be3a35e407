// The XML boxfest gives libvirt, against golden files (test/fixtures/libvirt/; the integration
// tests define them on a real libvirtd with schema validation on), and what it reads back from it.
// BOXFEST_UPDATE_GOLDEN=1 rewrites the files: review the diff before committing it.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  domainFacts,
  domainXml,
  ownerTagXml,
  type DomainFacts,
  parseOwnerTag,
  type DomainSpec,
  type OwnerTag,
} from '../../../src/providers/libvirt/domain-xml.js';
import { managementNetworkXml, privateNetworkXml } from '../../../src/providers/libvirt/network-xml.js';
import { isBoxOverlay } from '../../../src/providers/libvirt/volumes.js';

const GOLDEN = resolve(import.meta.dirname, '../../fixtures/libvirt');

function golden(name: string, got: string): void {
  const file = join(GOLDEN, name);
  if (process.env['BOXFEST_UPDATE_GOLDEN'] === '1') writeFileSync(file, got);
  expect(existsSync(file), `${file} is missing: BOXFEST_UPDATE_GOLDEN=1 writes it`).toBe(true);
  expect(got).toBe(readFileSync(file, 'utf8'));
}

const owner: OwnerTag = {
  project: "/home/ann/lab & co's",
  machine: 'web',
  digest: 'a'.repeat(64),
  volumes: [{ pool: 'default', name: 'boxfest-lab-web-0123abcd.qcow2' }],
  createdAt: '2026-12-03T20:00:00.000Z',
  applied: '{"memory":256,"hostname":"<web>"}',
};

const base: DomainSpec = {
  name: 'boxfest-lab-web-0123abcd',
  uuid: '6a1f2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d',
  virtType: 'qemu',
  memoryMiB: 256,
  cpus: 1,
  disk: { pool: 'default', volume: 'boxfest-lab-web-0123abcd.qcow2', bus: 'virtio' },
  nics: [
    { kind: 'network', network: 'boxfest', mac: '52:54:00:00:00:01' },
    { kind: 'network', network: 'boxfest-lab-backend-0123abcd', mac: '52:54:00:00:00:02' },
  ],
  serialLog: '/var/log/libvirt/qemu/boxfest-lab-web-0123abcd.serial.log',
  owner,
};

const withoutUuid: DomainSpec = { ...base };
delete withoutUuid.uuid;

describe('domain XML', () => {
  it.each<[string, DomainSpec]>([
    ['domain-tcg.xml', base],
    [
      'domain-kvm-bridged.xml',
      {
        ...withoutUuid,
        virtType: 'kvm',
        cpus: 2,
        memoryMiB: 1024,
        disk: { ...base.disk, bus: 'sata' },
        nics: [
          base.nics[0]!,
          { kind: 'bridge', bridge: 'br0', mac: '52:54:00:00:00:03' },
          { kind: 'direct', dev: 'eth1', mac: '52:54:00:00:00:04' },
        ],
      },
    ],
    [
      // virtiofs and 9p <filesystem>s; the memfd backing virtiofsd needs (a path with XML's specials).
      'domain-shares.xml',
      {
        ...base,
        shares: [
          { type: 'virtiofs', tag: 'boxfest0', src: "/home/ann/lab & co's/live" },
          { type: '9p', tag: 'boxfest1', src: '/srv/nine' },
        ],
      },
    ],
    ['domain-9p-only.xml', { ...base, shares: [{ type: '9p', tag: 'boxfest0', src: '/srv/nine' }] }],
    [
      // A cloud-init box: its seed volume read-only after the disk, listed in the tag after it.
      'domain-cloud-init.xml',
      {
        ...base,
        seed: { pool: 'default', volume: 'boxfest-lab-web-0123abcd.cidata.iso' },
        owner: {
          ...owner,
          volumes: [...owner.volumes, { pool: 'default', name: 'boxfest-lab-web-0123abcd.cidata.iso' }],
        },
      },
    ],
    [
      // The seed is a virtio disk whatever the boot disk's bus.
      'domain-cloud-init-sata.xml',
      {
        ...withoutUuid,
        disk: { ...base.disk, bus: 'sata' },
        seed: { pool: 'images & co', volume: 'boxfest-lab-web-0123abcd.cidata.iso' },
      },
    ],
  ])('%s', (file, spec) => golden(file, domainXml(spec)));

  it('reads back what it wrote: owner tag (escaped text intact), networks, MACs, serial log', () => {
    const facts = domainFacts(domainXml(base));
    expect(facts).toEqual({
      uuid: base.uuid,
      virtType: 'qemu',
      owner,
      networks: ['boxfest', 'boxfest-lab-backend-0123abcd'],
      macs: ['52:54:00:00:00:01', '52:54:00:00:00:02'],
      serialLog: base.serialLog,
      disks: [
        {
          pool: 'default',
          volume: 'boxfest-lab-web-0123abcd.qcow2',
          format: 'qcow2',
          readonly: false,
          serial: undefined,
        },
      ],
    });
  });

  it.each<[string, Partial<DomainSpec>, Partial<DomainFacts['disks'][number]>[]]>([
    ['no seed: the disk alone', {}, [{ volume: 'boxfest-lab-web-0123abcd.qcow2', readonly: false }]],
    [
      'a seed: read-only raw, serial boxfest-cidata, after the disk',
      { seed: { pool: 'default', volume: 'boxfest-lab-web-0123abcd.cidata.iso' } },
      [
        { volume: 'boxfest-lab-web-0123abcd.qcow2', readonly: false },
        {
          pool: 'default',
          volume: 'boxfest-lab-web-0123abcd.cidata.iso',
          format: 'raw',
          readonly: true,
          serial: 'boxfest-cidata',
        },
      ],
    ],
    [
      'a seed in another pool, on a SATA-disk box',
      { disk: { ...base.disk, bus: 'sata' }, seed: { pool: 'fast', volume: 'x.cidata.iso' } },
      [
        { volume: 'boxfest-lab-web-0123abcd.qcow2', readonly: false },
        { pool: 'fast', volume: 'x.cidata.iso', readonly: true },
      ],
    ],
  ])('reads its disks back: %s', (_what, change, want) => {
    const disks = domainFacts(domainXml({ ...base, ...change })).disks;
    expect(disks).toHaveLength(want.length);
    want.forEach((w, i) => expect(disks[i]).toMatchObject(w));
  });

  it.each<[string, string]>([
    ['no metadata', "<domain type='qemu'><name>x</name></domain>"],
    [
      "another program's metadata",
      "<domain type='qemu'><name>x</name><metadata><other:machine xmlns:other='https://example.org/x'><project>/p</project><name>web</name></other:machine></metadata></domain>",
    ],
  ])('a domain with %s has no owner: never touched', (_what, xml) => {
    expect(domainFacts(xml).owner).toBeUndefined();
  });

  it('the tag as DOMAIN_GET_METADATA returns it (no prefix, no xmlns) parses too', () => {
    const bare = ownerTagXml(owner)
      .replace(/<boxfest:machine xmlns:boxfest='[^']*'>/, '<machine>')
      .replace('</boxfest:machine>', '</machine>');
    expect(parseOwnerTag(bare)).toEqual(owner);
    expect(parseOwnerTag('<machine><name>web</name></machine>')).toBeUndefined();
  });
});

describe('network XML', () => {
  it.each<[string, string]>([
    [
      'network-management.xml',
      managementNetworkXml('boxfest', '192.168.121.1', 24, ['192.168.121.2', '192.168.121.254']),
    ],
    ['network-private.xml', privateNetworkXml('boxfest-lab-backend-0123abcd', undefined)],
    [
      'network-private-dhcp.xml',
      privateNetworkXml('boxfest-lab-backend-0123abcd', {
        gateway: '192.168.56.1',
        prefix: 24,
        hosts: [
          { mac: '52:54:00:00:00:02', ip: '192.168.56.2', name: 'web' },
          { mac: '52:54:00:00:00:05', ip: '192.168.56.3', name: 'db' },
        ],
      }),
    ],
  ])('%s', (file, xml) => golden(file, xml));
});

describe('an overlay known by name only', () => {
  it.each<[string, string, boolean]>([
    [
      'backed by a box volume: boxfest made it',
      "<volume><name>boxfest-lab-web-0123abcd.qcow2</name><backingStore><path>/var/lib/libvirt/images/boxfest-box-tiny-0-0123456789abcdef.qcow2</path><format type='qcow2'/></backingStore></volume>",
      true,
    ],
    [
      'backed by something else',
      '<volume><name>boxfest-lab-web-0123abcd.qcow2</name><backingStore><path>/srv/images/golden.qcow2</path></backingStore></volume>',
      false,
    ],
    ['without a backing file', '<volume><name>boxfest-lab-web-0123abcd.qcow2</name></volume>', false],
  ])('%s', (_what, xml, ours) => expect(isBoxOverlay(xml)).toBe(ours));
});
