// A Vagrant box in the VirtualBox layout (box.ovf + a streamOptimized VMDK, as `vagrant package`
// and Vagrant Cloud ship them), added to the store and used by the VirtualBox provider on a real
// vboxwebsrv: the VMDK itself is opened read-only as the Immutable base of the machine's linked
// clone (a differencing disk). Launching fails here without VirtualBox's kernel driver, as in
// lifecycle.integration.ts: everything up to it is checked on the server.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { sha256Of, virtualboxBox } from '../box-fixtures.js';
import { TestProject } from '../harness.js';
import { cleanServer, serverHardDisks, serverMachines } from './server.js';

const skipped = inject('vboxSkipped');
const share = inject('vboxShare');

describe.skipIf(skipped)('a VirtualBox-layout Vagrant box on a real vboxwebsrv', () => {
  let p: TestProject;
  let vmdk: string;
  let vmdkSha: string;
  let up: { code: number; stderr: string };

  beforeAll(async () => {
    p = new TestProject(
      {
        'Boxfile.yaml': `version: 1\nprovider: virtualbox\nvirtualbox: { url: ${inject('vboxUrl')} }\nmachines:\n  web: { box: vbtiny, box_version: ">= 1.0, < 2", memory: 256 }\n`,
      },
      { baseDir: share },
    );
    const box = virtualboxBox(p.boxImage, join(p.base, 'tiny-virtualbox.box'));
    await p.ok(['box', 'add', box, '--name', 'vbtiny', '--box-version', '1.2.0']);
    vmdk = p.storedImage('vbtiny', '1.2.0', 'virtualbox');
    vmdkSha = sha256Of(vmdk);
    up = await p.run(['up']);
  });

  afterAll(async () => {
    try {
      await p.run(['destroy', '--force']).catch(() => undefined);
      await cleanServer(p.home, p.base);
    } finally {
      rmSync(p.base, { recursive: true, force: true });
    }
  });

  it('gets as far as the launch, which fails for want of the kernel driver (said plainly)', () => {
    expect(up.code).toBe(1);
    expect(up.stderr).toContain('[VBOX_NO_KERNEL_DRIVER]');
    expect(up.stderr).not.toMatch(/^\s+at /m);
  });

  it('registers the box’s VMDK read-only as the Immutable base of the machine’s differencing disk', async () => {
    const vm = (await serverMachines(p.home)).find((m) => m.extraData['boxfest/project'] === p.root);
    expect(vm).toMatchObject({ memory: 256, osType: 'Debian_64' });
    const disks = await serverHardDisks(p.home);
    const base = disks.find((d) => d.location === vmdk);
    expect(base).toMatchObject({ parent: '', type: 'Immutable' });
    const media = JSON.parse(vm!.extraData['boxfest/media'] ?? '[]') as string[];
    const diff = disks.find((d) => d.location === media[0]);
    expect(diff).toMatchObject({ parent: base!.id, type: 'Normal', autoReset: false });
    expect(vm!.extraData['boxfest/box-medium']).toBe(base!.id);
    // No conversion for VirtualBox: the stored VMDK is the one the box shipped, never written.
    expect(sha256Of(vmdk)).toBe(vmdkSha);
    const list = JSON.parse((await p.ok(['box', 'list', '--json'])).stdout) as {
      provider: string;
      users: unknown[];
    }[];
    expect(list.map((b) => [b.provider, b.users.length])).toEqual([['virtualbox', 1]]);
  });

  it('destroy deletes the machine’s disk and keeps the box and its file', async () => {
    await p.ok(['destroy', '--force']);
    const disks = await serverHardDisks(p.home);
    expect(disks.filter((d) => d.location.startsWith(p.base) && d.location !== vmdk)).toEqual([]);
    expect(sha256Of(vmdk)).toBe(vmdkSha);
    await p.ok(['box', 'remove', 'vbtiny']);
  });
});
