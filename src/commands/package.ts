// `boxfest package MACHINE --output x.box`: a halted QEMU machine as a Vagrant box in the libvirt
// layout that vagrant-libvirt writes and reads (its "v1" format):
//   metadata.json  {"provider": "libvirt", "format": "qcow2", "virtual_size": <GiB, rounded up>}
//   box.img        the machine's disk with its backing chain folded in, compressed qcow2
//   Vagrantfile    libvirt driver kvm; the SSH user; the shipped key, as `vagrant package` does
//   vagrant_private_key  the machine's own key (its insecure box key was replaced at `up`)
//   include/_Vagrantfile, include/...  --vagrantfile and --include, as `vagrant package`
// packed as tar.gz. `boxfest box add` reads all of it back.
import {
  copyFileSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { hostileMember } from '../boxes/archive.js';
import { formatBytes } from '../boxes/progress.js';
import { BoxfestError } from '../errors.js';
import { packagerOf } from '../providers/optional.js';
import { imageInfo } from '../providers/qemu/image.js';
import { readMachineState } from '../state/machine-state.js';
import { machinePaths } from '../state/paths.js';
import type { CommandOptions } from './output.js';
import { contextOf, observe, openProject, providerOf, withLock } from './project.js';

export interface PackageOptions extends CommandOptions {
  output: string;
  vagrantfile: string | undefined;
  include: string[];
}

/** Vagrant's mapping of --include: a relative path keeps its path under include/, an absolute one its name. */
function includeTarget(file: string): string {
  return isAbsolute(file) ? basename(file) : file;
}

export function vagrantfileFor(sshUser: string, include: boolean): string {
  return [
    'Vagrant.configure("2") do |config|',
    '  config.vm.provider :libvirt do |libvirt|',
    '    libvirt.driver = "kvm"',
    '  end',
    ...(sshUser === 'vagrant' ? [] : [`  config.ssh.username = "${sshUser}"`]),
    '  config.ssh.private_key_path = File.expand_path("../vagrant_private_key", __FILE__)',
    ...(include
      ? [
          '',
          '  # Load include vagrant file if it exists after the auto-generated',
          '  # so it can override any of the settings',
          '  include_vagrantfile = File.expand_path("../include/_Vagrantfile", __FILE__)',
          '  load include_vagrantfile if File.exist?(include_vagrantfile)',
        ]
      : []),
    'end',
    '',
  ].join('\n');
}

export async function packageMachine(cwd: string, machine: string, o: PackageOptions): Promise<number> {
  const { env, selected } = openProject(cwd, [machine]);
  const spec = selected[0]!;
  const provider = packagerOf(providerOf(spec));
  const output = resolve(cwd, o.output);
  if (existsSync(output))
    throw new BoxfestError('PACKAGE_EXISTS', `${output} already exists`, {
      hint: 'remove it or choose another --output',
    });
  const extras: [string, string][] = [];
  if (o.vagrantfile !== undefined) extras.push([resolve(cwd, o.vagrantfile), '_Vagrantfile']);
  for (const f of o.include) {
    const target = includeTarget(f);
    const why = hostileMember(target, 'File');
    if (why !== undefined)
      throw new BoxfestError('PACKAGE_INCLUDE', `cannot include ${f}: ${why}`, {
        hint: 'include files below the current directory, or by absolute path',
      });
    extras.push([resolve(cwd, f), target]);
  }
  for (const [from] of extras)
    if (!existsSync(from))
      throw new BoxfestError('PACKAGE_INCLUDE', `${from} does not exist`, {
        hint: 'check --vagrantfile and --include',
      });

  return withLock(env, 'package', async () => {
    const actual = (await observe(env, [spec])).get(machine)!.actual;
    if (actual.state !== 'halted')
      throw new BoxfestError(
        'PACKAGE_NOT_HALTED',
        `machine ${machine} is ${actual.state.replace('_', ' ')}; package needs it halted`,
        {
          machine,
          hint:
            actual.state === 'not_created'
              ? `create it first: boxfest up ${machine}`
              : `halt it first: boxfest halt ${machine}`,
        },
      );
    const state = readMachineState(env.root, machine)!;
    const paths = machinePaths(env.root, machine);
    mkdirSync(dirname(output), { recursive: true });
    const tmp = mkdtempSync(join(dirname(output), '.boxfest-package-'));
    try {
      o.note(`${machine}: folding its disk and box into one compressed image`);
      const img = join(tmp, 'box.img');
      await provider.packageDisk(contextOf(env, spec), img);
      const info = await imageInfo(img);
      const gib = Math.ceil(info.virtualSize / 2 ** 30);
      writeFileSync(
        join(tmp, 'metadata.json'),
        `{\n  "provider": "libvirt",\n  "format": "qcow2",\n  "virtual_size": ${gib}\n}\n`,
      );
      writeFileSync(join(tmp, 'Vagrantfile'), vagrantfileFor(state.sshUser, o.vagrantfile !== undefined));
      copyFileSync(paths.privateKey, join(tmp, 'vagrant_private_key'));
      for (const [from, to] of extras) {
        const dest = join(tmp, 'include', to);
        mkdirSync(dirname(dest), { recursive: true });
        if (lstatSync(from).isDirectory())
          cpSync(from, dest, { recursive: true, dereference: false, verbatimSymlinks: true });
        else copyFileSync(from, dest);
      }
      const members = [
        'metadata.json',
        'Vagrantfile',
        'box.img',
        'vagrant_private_key',
        ...(extras.length > 0 ? ['include'] : []),
      ];
      const partial = `${output}.partial`;
      const { c } = await import('tar');
      await c(
        { gzip: true, file: partial, cwd: tmp, portable: true },
        members.map((m) => `./${m}`),
      );
      renameSync(partial, output);
      const size = statSync(output).size;
      if (o.json)
        o.print(
          JSON.stringify({ machine, output, size, virtual_size_gib: gib, provider: 'libvirt' }, null, 2),
        );
      else
        o.print(
          `${machine} packaged as ${output} (${formatBytes(size)}); add it with: boxfest box add ${output} --name NAME`,
        );
      return 0;
    } finally {
      rmSync(tmp, { recursive: true, force: true });
      rmSync(`${output}.partial`, { force: true });
    }
  });
}
