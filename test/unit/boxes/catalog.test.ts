import { describe, expect, it } from 'vitest';
import { parseCatalog, pickFromCatalog, type Catalog } from '../../../src/boxes/catalog.js';
import { parseConstraint, type Requirement } from '../../../src/boxes/version.js';

const sum = (c: string) => c.repeat(64);
const CATALOG = JSON.stringify({
  name: 'test/tiny',
  description: 'three versions',
  versions: [
    {
      version: '1.0.0',
      providers: [{ name: 'libvirt', url: 'v1.box', checksum_type: 'sha256', checksum: sum('a') }],
    },
    {
      version: '1.1.0',
      providers: [
        {
          name: 'libvirt',
          url: 'v11.box',
          checksum_type: 'sha256',
          checksum: sum('b'),
          architecture: 'arm64',
        },
        {
          name: 'libvirt',
          url: 'v11-amd.box',
          checksum_type: 'sha256',
          checksum: sum('c'),
          architecture: 'amd64',
        },
      ],
    },
    {
      version: '2.0.0',
      providers: [
        { name: 'virtualbox', url: 'v2-vb.box' },
        { name: 'vmware_desktop', url: 'x' },
      ],
    },
  ],
});

const reqs = (t?: string): Requirement[] => {
  if (t === undefined) return [];
  const r = parseConstraint(t);
  if ('problem' in r) throw new Error(r.problem);
  return r;
};

describe('Vagrant catalogs', () => {
  const cat: Catalog = parseCatalog(CATALOG, 'catalog.json');

  it('reads name, versions, providers and checksums', () => {
    expect(cat.name).toBe('test/tiny');
    expect(cat.versions.map((v) => v.version)).toEqual(['1.0.0', '1.1.0', '2.0.0']);
    expect(cat.versions[0]!.providers[0]!.checksum).toEqual({ type: 'sha256', value: sum('a') });
  });

  it.each([
    [undefined, 'qemu', '2.0.0', 'virtualbox', 'v2-vb.box'],
    ['< 2', 'qemu', '1.1.0', 'libvirt', 'v11-amd.box'],
    ['~> 1.0.0', 'qemu', '1.0.0', 'libvirt', 'v1.box'],
    ['>= 1.0, < 1.1', 'virtualbox', '1.0.0', 'libvirt', 'v1.box'],
    [undefined, 'virtualbox', '2.0.0', 'virtualbox', 'v2-vb.box'],
  ] as const)('box_version %s for %s → %s (%s)', (c, provider, version, kind, url) => {
    const choice = pickFromCatalog(cat, reqs(c), provider);
    expect(choice).toMatchObject({ version, provider: { name: kind, url } });
  });

  it('says why nothing fits', () => {
    const r = pickFromCatalog(cat, reqs('> 3'), 'qemu');
    expect('problem' in r && r.problem).toMatch(
      /no version of test\/tiny meets `> 3`; it has 2.0.0 \(virtualbox, vmware_desktop\)/,
    );
  });

  it.each([
    ['not json', /is not JSON/],
    ['[]', /not a JSON object/],
    ['{"versions": []}', /`name` is missing/],
    ['{"name": "../../x", "versions": []}', /not a valid box name/],
    ['{"name": "a", "versions": [{"version": "../1", "providers": []}]}', /not a valid box version/],
    [
      '{"name": "a", "versions": [{"version": "1", "providers": [{"name": "libvirt"}]}]}',
      /needs `name` and `url`/,
    ],
    [
      '{"name": "a", "versions": [{"version": "1", "providers": [{"name": "libvirt", "url": "u", "checksum_type": "crc", "checksum": "1"}]}]}',
      /unknown checksum type/,
    ],
  ])('refuses %s', (text, why) => {
    expect(() => parseCatalog(text, 'c.json')).toThrow(why);
  });
});
