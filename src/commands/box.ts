import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  addBox,
  DISK_INTERFACES,
  firstBootOf,
  listBoxes,
  removeBox,
  type DiskInterface,
} from '../boxes/store.js';
import { BoxfestError } from '../errors.js';
import { checkBoxImage, hasCloudInit } from '../providers/qemu/image.js';
import { listStates } from '../providers/qemu/instant.js';
import { boxfestHome } from '../state/paths.js';
import type { CommandOptions } from './output.js';

/** The user a cloud-init box's machines log in as unless `--ssh-user` (or `ssh.user`) says otherwise. */
export const CLOUD_INIT_USER = 'boxfest';

/** `box add` takes qcow2 images: boxes of the `qemu` format, which every provider so far runs. */
const BOX_PROVIDER = 'qemu';

export interface BoxAddOptions extends CommandOptions {
  /** Unset: root for an ssh-key box, CLOUD_INIT_USER for a cloud-init one. */
  sshUser: string | undefined;
  /**
   * `--cloud-init`: a cloud image that cloud-init sets up from boxfest's seed at first boot.
   * Without it and without `--ssh-key`, the image is looked at: one with cloud-init is taken as one.
   */
  cloudInit: boolean;
  sshKey: string | undefined;
  diskInterface: string;
  force: boolean;
}

export async function boxAdd(cwd: string, name: string, image: string, o: BoxAddOptions): Promise<number> {
  const imagePath = resolve(cwd, image);
  if (!existsSync(imagePath))
    throw new BoxfestError('BOX_IMAGE_MISSING', `no image at ${imagePath}`, {
      hint: 'give the path of a qcow2 file',
    });
  const keyPath = o.sshKey === undefined ? undefined : resolve(cwd, o.sshKey);
  if (keyPath !== undefined && !existsSync(keyPath))
    throw new BoxfestError('BOX_KEY_MISSING', `no key at ${keyPath}`, {
      hint: "give the path of the box's private key",
    });
  if (o.cloudInit && keyPath !== undefined)
    throw new BoxfestError('BOX_FIRST_BOOT', '`--cloud-init` and `--ssh-key` exclude each other', {
      hint: "a cloud-init box has no insecure key: cloud-init installs each machine's own key; drop one of them",
    });
  if (!(DISK_INTERFACES as readonly string[]).includes(o.diskInterface))
    throw new BoxfestError('BOX_DISK_INTERFACE', `unknown disk interface \`${o.diskInterface}\``, {
      hint: `use one of: ${DISK_INTERFACES.join(', ')}`,
    });
  await checkBoxImage(imagePath);
  let cloudInit = o.cloudInit;
  if (!cloudInit && keyPath === undefined && (await hasCloudInit(imagePath))) {
    cloudInit = true;
    o.note('cloud-init found in the image (/etc/cloud/cloud.cfg.d): adding it as a cloud-init box');
  }
  if (cloudInit && o.sshUser === 'root')
    throw new BoxfestError('BOX_SSH_USER', 'a cloud-init box cannot log in as root', {
      hint: `cloud-init creates a user with passwordless sudo; leave out --ssh-user (default \`${CLOUD_INIT_USER}\`) or name another user`,
    });
  const box = await addBox(boxfestHome(), {
    name,
    provider: BOX_PROVIDER,
    image: imagePath,
    sshUser: o.sshUser ?? (cloudInit ? CLOUD_INIT_USER : 'root'),
    sshKey: keyPath,
    diskInterface: o.diskInterface as DiskInterface,
    force: o.force,
    firstBoot: cloudInit ? 'cloud-init' : 'ssh-key',
  });
  if (o.json) o.print(JSON.stringify(box, null, 2));
  else
    o.print(
      `box ${box.name} added (${(box.size / 2 ** 20).toFixed(1)} MiB, sha256 ${box.sha256.slice(0, 12)}…, user ${box.sshUser}, first boot: ${firstBootOf(box)})`,
    );
  return 0;
}

export async function boxList(o: CommandOptions): Promise<number> {
  const home = boxfestHome();
  const boxes = await Promise.all(
    listBoxes(home, BOX_PROVIDER).map(async (b) => ({
      ...b,
      firstBoot: firstBootOf(b),
      states: await listStates(home, b),
    })),
  );
  const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
  if (o.json) o.print(JSON.stringify(boxes, null, 2));
  else if (boxes.length === 0) o.note('no boxes; add one with: boxfest box add NAME IMAGE.qcow2');
  else
    for (const b of boxes) {
      o.print(
        `${b.name}  ${mib(b.size)}  ${b.provider}  user ${b.sshUser}  ${b.diskInterface}  first boot: ${b.firstBoot}`,
      );
      for (const s of b.states)
        o.print(
          `  saved state ${s.key}: ${s.memory} MiB, ${s.cpus} cpu(s), ${s.nics} extra NIC(s), ${s.accel}, ${mib(s.bytes)}${s.valid ? '' : '  (stale: written by another QEMU or box)'}`,
        );
    }
  return 0;
}

export function boxRemove(name: string, o: CommandOptions & { force: boolean }): Promise<number> {
  removeBox(boxfestHome(), name, BOX_PROVIDER, o.force);
  if (o.json) o.print(JSON.stringify({ removed: name }));
  else o.print(`box ${name} removed`);
  return Promise.resolve(0);
}
