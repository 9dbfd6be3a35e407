// The pure parts of a cloud-init seed on a libvirt host (providers/libvirt/seed.ts), which the
// local and the remote (qemu+ssh://) paths share: the volume it is uploaded into, what is done
// with a volume of its name before an upload, and what a volume known only by its name must look
// like to be deleted as a seed. The upload itself runs against a real libvirtd in
// test/integration/libvirt/cloud-init.integration.ts.
import { describe, expect, it } from 'vitest';
import { domainName, seedVolumeName, overlayVolumeName } from '../../../src/providers/libvirt/names.js';
import {
  isSeedVolume,
  SEED_MAX_BYTES,
  seedVolumePlan,
  seedVolumeXml,
} from '../../../src/providers/libvirt/seed.js';
import { parseXml } from '../../../src/providers/libvirt/xml.js';

const env = { name: 'lab', root: '/home/ann/lab' };
const SEED = seedVolumeName(env, 'web');

describe('the seed volume', () => {
  it("is named after the machine's domain, beside its overlay", () => {
    expect(SEED).toBe(`${domainName(env, 'web')}.cidata.iso`);
    expect(overlayVolumeName(env, 'web')).toBe(`${domainName(env, 'web')}.qcow2`);
    expect(seedVolumeName({ ...env, root: '/elsewhere/lab' }, 'web')).not.toBe(SEED);
  });

  it('is a raw volume of exactly the image size (names escaped)', () => {
    const xml = seedVolumeXml("a&b'.cidata.iso", 53_248);
    expect(xml).toBe(
      "<volume><name>a&amp;b&apos;.cidata.iso</name><capacity unit='bytes'>53248</capacity><target><format type='raw'/></target></volume>",
    );
    expect(parseXml(xml).localName).toBe('volume');
  });

  it.each<[string, { capacity: bigint } | undefined, number, boolean, ReturnType<typeof seedVolumePlan>]>([
    ['none there: created', undefined, 53_248, false, 'create'],
    ['none there, tag lists it (first boot): created', undefined, 53_248, true, 'create'],
    ['ours, same size: its bytes replaced', { capacity: 53_248n }, 53_248, true, 'overwrite'],
    [
      'ours, the image grew (network-config changed): made anew',
      { capacity: 53_248n },
      55_296,
      true,
      'recreate',
    ],
    ['ours, the image shrank: made anew', { capacity: 55_296n }, 53_248, true, 'recreate'],
    ['not listed by the domain: never written', { capacity: 53_248n }, 53_248, false, 'refuse'],
  ])('before an upload, %s', (_what, existing, size, ours, want) => {
    expect(seedVolumePlan(existing, size, ours)).toBe(want);
  });

  const vol = (name: string, format: string, capacity: string, backing = '') =>
    `<volume type='file'><name>${name}</name><key>/pool/${name}</key><capacity unit='${capacity.split(' ')[1]}'>${capacity.split(' ')[0]}</capacity><allocation unit='bytes'>53248</allocation><target><path>/pool/${name}</path><format type='${format}'/></target>${backing}</volume>`;

  it.each<[string, string, boolean]>([
    ['a seed boxfest uploaded', vol(SEED, 'raw', '53248 bytes'), true],
    ['a seed at the size limit', vol(SEED, 'raw', `${SEED_MAX_BYTES} bytes`), true],
    ['a raw volume over the limit', vol(SEED, 'raw', `${SEED_MAX_BYTES + 1} bytes`), false],
    ['a raw volume of 1 GiB (KiB units)', vol(SEED, 'raw', '1048576 KiB'), false],
    ['a qcow2 volume of that name', vol(SEED, 'qcow2', '53248 bytes'), false],
    [
      'a raw volume with a backing file',
      vol(SEED, 'raw', '53248 bytes', '<backingStore><path>/pool/base.img</path></backingStore>'),
      false,
    ],
    ['a raw volume of another name', vol('boxfest-lab-web-1234abcd.qcow2', 'raw', '53248 bytes'), false],
    ['a capacity in an unknown unit', vol(SEED, 'raw', '1 furlongs'), false],
  ])('known by its name alone, %s is deleted as a seed: %s', (_what, xml, want) => {
    expect(isSeedVolume(xml)).toBe(want);
  });
});
