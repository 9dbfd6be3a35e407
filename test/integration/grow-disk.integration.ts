// disk_size on an ssh-key box whose guest has the tools: the grow-disk step grows the root
// partition (growpart) and its ext4 filesystem (resize2fs) in the running guest, at the first
// boot and again after a bigger disk_size and a reload. The tiny box on Debian's generic kernel
// carries Debian's growpart, sfdisk, partx, flock and resize2fs (its cloud flavour has none: the
// guests table checks the message for that). What must survive: the box's stored image.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256, TestProject, type RunResult } from './harness.js';

const boxfile = (size: string) => `version: 1
machines:
  g: { box: tiny, memory: 256, disk_size: ${size} }
`;

describe('grow-disk: the root filesystem grown by the guest’s own growpart and resize2fs', () => {
  const p = new TestProject({ 'Boxfile.yaml': boxfile('2GiB') }, { kernel: 'generic' });
  let image = '';
  let first: RunResult;
  /** Root filesystem's and root partition's sizes in MiB, as the guest sees them. */
  const sizes = async () => {
    const script = [
      "df -m / | awk 'NR==2 {print $2}'",
      'dev=$(awk \'$2 == "/" {print $1}\' /proc/mounts)',
      'echo $(($(cat /sys/class/block/${dev#/dev/}/size) / 2048))',
    ].join('; ');
    const [fs, part] = (await p.ok(['ssh', 'g', '-c', script])).stdout.trim().split('\n').map(Number);
    return { fs: fs!, part: part! };
  };

  beforeAll(async () => {
    await p.addTinyBox();
    image = sha256(p.storedImage());
    first = await p.ok(['up', '--json']);
  });
  afterAll(async () => {
    await p.cleanup();
  });

  it('grew the partition and ext4 to the 2 GiB disk at the first boot, and said so', async () => {
    const row = (JSON.parse(first.stdout) as { machine: string; output: string[] }[])[0]!;
    expect(row.output.join('\n')).toMatch(/^\/dev\/\S+ \(ext4\) grown to fill \/dev\/\S+$/m);
    const { fs, part } = await sizes();
    // The box's root partition is 1024 MiB; the disk is 2048 MiB, 33 MiB of it before the root.
    expect(part).toBeGreaterThan(2000);
    expect(fs).toBeGreaterThan(1900);
  });

  it('a bigger disk_size is a reload change, and the reload grows it again; the box image is unchanged', async () => {
    writeFileSync(join(p.root, 'Boxfile.yaml'), boxfile('3GiB'));
    const plan = JSON.parse((await p.ok(['plan', '--json'])).stdout) as { machines: { action: string }[] };
    expect(plan.machines[0]!.action).toBe('reload');
    await p.ok(['up', '--reload']);
    const { fs, part } = await sizes();
    expect(part).toBeGreaterThan(3000);
    expect(fs).toBeGreaterThan(2900);
    // A second up has nothing to grow: the step is not run again.
    expect((await p.ok(['up'])).stdout).not.toMatch(/grown/);
    expect(sha256(p.storedImage())).toBe(image);
    expect(readFileSync(join(p.root, 'Boxfile.yaml'), 'utf8')).toContain('3GiB');
  });
});
