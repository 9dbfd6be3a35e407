// A machine's NoCloud seed: meta-data (instance-id, local-hostname), user-data and
// network-config in an ISO 9660 volume labelled `cidata`, attached read-only by the provider
// (QEMU: a virtio disk; VirtualBox: a DVD; libvirt: either). Written at every boot with the same
// instance-id, so a changed network (a reload) is re-applied while per-instance work is not redone.
import { stringify } from 'yaml';
import { writeFileAtomic } from '../state/atomic.js';
import { isoImage } from './iso9660.js';
import { networkConfig, type SeedNic } from './network-config.js';
import { userData, type UserDataInput } from './user-data.js';

export const SEED_LABEL = 'cidata';

export interface SeedInput extends UserDataInput {
  instanceId: string;
  hostname: string;
  nics: readonly SeedNic[];
}

export interface SeedFiles {
  'meta-data': string;
  'user-data': string;
  'network-config': string;
}

export function seedFiles(i: SeedInput): SeedFiles {
  return {
    'meta-data': stringify({ 'instance-id': i.instanceId, 'local-hostname': i.hostname }),
    'user-data': `#cloud-config\n${stringify(userData(i), { lineWidth: 0 })}`,
    'network-config': stringify(networkConfig(i.nics)),
  };
}

/** Writes the seed image to `file` (write-then-rename: a crash leaves the old one or none). */
export function writeSeed(file: string, files: SeedFiles): void {
  const image = isoImage(
    SEED_LABEL,
    (Object.entries(files) as [string, string][]).map(([name, text]) => ({
      name,
      data: Buffer.from(text, 'utf8'),
    })),
  );
  writeFileAtomic(file, image, 0o600);
}

/** A new instance-id: cloud-init runs its per-instance work (user, keys, host keys) once per id. */
export function newInstanceId(machine: string, random: string): string {
  return `boxfest-${machine}-${random}`;
}
