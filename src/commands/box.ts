import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { addBox, DISK_INTERFACES, listBoxes, removeBox, type DiskInterface } from '../boxes/store.js';
import { quoteForMessage, SSH_USER, SSH_USER_RULE } from '../config/names.js';
import { BoxfestError } from '../errors.js';
import { checkBoxImage } from '../providers/qemu/image.js';
import { listStates } from '../providers/qemu/instant.js';
import { boxfestHome } from '../state/paths.js';
import type { CommandOptions } from './output.js';

/** `box add` takes qcow2 images: boxes of the `qemu` format, which every provider so far runs. */
const BOX_PROVIDER = 'qemu';

export interface BoxAddOptions extends CommandOptions {
  sshUser: string;
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
  // Checked before anything is copied: a directory would fail halfway, as an internal error.
  if (keyPath !== undefined && !statSync(keyPath).isFile())
    throw new BoxfestError('BOX_KEY_NOT_A_FILE', `${keyPath} is not a file`, {
      hint: "give the path of the box's private key file, e.g. `--ssh-key ./insecure_key`",
    });
  // The user is printed into ssh_config and guest command lines: nothing that could break out.
  if (!SSH_USER.test(o.sshUser))
    throw new BoxfestError('BOX_SSH_USER', `${quoteForMessage(o.sshUser)} is not a valid user name`, {
      hint: SSH_USER_RULE,
    });
  if (!(DISK_INTERFACES as readonly string[]).includes(o.diskInterface))
    throw new BoxfestError('BOX_DISK_INTERFACE', `unknown disk interface \`${o.diskInterface}\``, {
      hint: `use one of: ${DISK_INTERFACES.join(', ')}`,
    });
  await checkBoxImage(imagePath);
  const box = await addBox(boxfestHome(), {
    name,
    provider: BOX_PROVIDER,
    image: imagePath,
    sshUser: o.sshUser,
    sshKey: keyPath,
    diskInterface: o.diskInterface as DiskInterface,
    force: o.force,
  });
  if (o.json) o.print(JSON.stringify(box, null, 2));
  else
    o.print(
      `box ${box.name} added (${(box.size / 2 ** 20).toFixed(1)} MiB, sha256 ${box.sha256.slice(0, 12)}…, user ${box.sshUser})`,
    );
  return 0;
}

export async function boxList(o: CommandOptions): Promise<number> {
  const home = boxfestHome();
  const boxes = await Promise.all(
    listBoxes(home, BOX_PROVIDER).map(async (b) => ({ ...b, states: await listStates(home, b) })),
  );
  const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
  if (o.json) o.print(JSON.stringify(boxes, null, 2));
  else if (boxes.length === 0) o.note('no boxes; add one with: boxfest box add NAME IMAGE.qcow2');
  else
    for (const b of boxes) {
      o.print(`${b.name}  ${mib(b.size)}  ${b.provider}  user ${b.sshUser}  ${b.diskInterface}`);
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
