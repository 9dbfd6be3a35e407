// The VirtualBox provider: a machine is a VM registered on a vboxwebsrv, tagged with its owner in
// extra data, whose disk is a differencing disk on the box's image. Every call goes through a
// websession (invoke.ts) that logs off at the end of each provider call.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Box } from '../../boxes/store.js';
import type { MachineSpec } from '../../config/types.js';
import { BoxfestError, errorMessage } from '../../errors.js';
import { macFor } from '../../network/nics.js';
import { withBootPorts } from '../../network/ports.js';
import { boxfestHome } from '../../state/paths.js';
import type { ActualMachine, MachineContext, Provider, StartResult } from '../provider.js';
import { adapterFor } from './adapters/index.js';
import { withWebsession, type Ref, type Websession, type WebsessionOptions } from './invoke.js';
import { explainLaunchFailure } from './launch-errors.js';
import { findOwned, withConsole, withWriteLock, type OwnedMachine } from './machine.js';
import { closeSeed, createDiff, deleteMediaAt, newMedium, openBoxMedium, openSeed } from './media.js';
import { readMachineState } from '../../state/machine-state.js';
import { configureAdapters, resolveAttachments, setRedirects } from './network.js';
import { statusOf } from './states.js';
import { parseMedia, TAG, vmName } from './tags.js';

export const DEFAULT_URL = 'http://127.0.0.1:18083/';
const DEFAULT_OS_TYPE = 'Linux_64';
const CONTROLLER = 'SATA';
const POLL_MS = 250;

/**
 * Where and as whom to connect: the Boxfile's url, else BOXFEST_VBOX_URL, else the local default;
 * credentials and extra trusted certificates (BOXFEST_VBOX_CA) only from the environment.
 */
export function connection(spec: MachineSpec, env: NodeJS.ProcessEnv = process.env): WebsessionOptions {
  const url = spec.virtualbox.url ?? (env['BOXFEST_VBOX_URL'] || DEFAULT_URL);
  const caFile = env['BOXFEST_VBOX_CA'];
  return {
    home: boxfestHome(env),
    url: url.endsWith('/') ? url : `${url}/`,
    user: env['BOXFEST_VBOX_USER'] ?? '',
    password: env['BOXFEST_VBOX_PASSWORD'] ?? '',
    ...(caFile === undefined || caFile === '' ? {} : { ca: readCa(caFile) }),
  };
}

function readCa(file: string): string {
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (e) {
    throw new BoxfestError('VBOX_CA_UNREADABLE', `BOXFEST_VBOX_CA: cannot read ${file}`, {
      details: errorMessage(e),
      hint: 'point BOXFEST_VBOX_CA at a readable PEM file',
    });
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----'))
    throw new BoxfestError('VBOX_CA_UNREADABLE', `BOXFEST_VBOX_CA: ${file} holds no PEM certificate`, {
      hint: 'point BOXFEST_VBOX_CA at the PEM file of the CA (or self-signed certificate) of the web service',
    });
  return pem;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class VirtualboxProvider implements Provider {
  readonly name = 'virtualbox' as const;
  /** The qcow2 image of the store's QEMU box, opened on the server. */
  readonly boxFormat = 'virtualbox' as const;
  /** A VM whose launch failed (no kernel driver) stays registered: `up` retries, `destroy` removes it. */
  readonly keepsCreated = true;
  readonly offersIdentity = false;

  constructor(private readonly processEnv: NodeJS.ProcessEnv = process.env) {}

  private session<T>(m: MachineContext, body: (s: Websession) => Promise<T>): Promise<T> {
    return withWebsession(connection(m.spec, this.processEnv), async (s) => {
      adapterFor(s.api); // an unsupported server stops every command here, with the version named
      return body(s);
    });
  }

  inspect(m: MachineContext): Promise<ActualMachine> {
    const name = m.spec.name;
    return this.session(m, async (s) => {
      const vm = await findOwned(s, m.env, name);
      if (vm === undefined) return { name, state: 'not_created' };
      if (!(await s.call<boolean>('IMachine_getAccessible', { _this: vm.ref })))
        return {
          name,
          state: 'broken',
          broken: 'unknown-vm',
          reason: `VirtualBox cannot read ${vm.name}'s settings or disk`,
        };
      // `create` records the disk before making it: a VM without that record was left half made.
      if (parseMedia(await vm.tag(TAG.media)).length === 0)
        return {
          name,
          state: 'broken',
          broken: 'disk-missing',
          reason: `${vm.name} was left half made (no disk)`,
        };
      const { status, reason } = statusOf(await s.call<string>('IMachine_getState', { _this: vm.ref }));
      const port = Number(await vm.tag(TAG.sshPort));
      return {
        name,
        state: status,
        ...(reason === undefined ? {} : { reason }),
        ...(status === 'running' && port > 0 ? { ssh: { host: '127.0.0.1', port } } : {}),
      };
    });
  }

  importBox(_m: MachineContext, box: Box): Promise<void> {
    // Which server a box goes to depends on the machine (`virtualbox.url`), so the medium is opened
    // (once per server, then found again) in create; here only the image is checked.
    if (!existsSync(box.image))
      return Promise.reject(
        new BoxfestError('BOX_IMAGE_MISSING', `the image of box ${box.name} is missing: ${box.image}`, {
          hint: `add the box again: boxfest box add ${box.name} IMAGE`,
        }),
      );
    return Promise.resolve();
  }

  /** Creates and registers the VM with its differencing disk and NICs; idempotent. */
  create(m: MachineContext, box: Box): Promise<void> {
    return this.session(m, async (s) => {
      const existing = await findOwned(s, m.env, m.spec.name);
      if (existing !== undefined && parseMedia(await existing.tag(TAG.media)).length > 0) return;
      if (existing !== undefined) await this.remove(s, existing); // left half-made by a crash
      const attachments = await resolveAttachments(s, m.env, m.spec);
      const base = await openBoxMedium(s, box.image);
      const adapter = adapterFor(s.api);
      const name = vmName(m.env, m.spec.name);
      const machine = await s.call(
        'IVirtualBox_createMachine',
        adapter.createMachine(s.vbox, {
          name,
          osTypeId: m.spec.virtualbox.osType ?? box.osType ?? DEFAULT_OS_TYPE,
          flags: '',
          groups: ['/boxfest'],
        }),
      );
      const tags: [string, string][] = [
        [TAG.project, m.env.root],
        [TAG.projectName, m.env.name],
        [TAG.machine, m.spec.name],
        [TAG.boxMedium, base.id],
        [TAG.createdAt, new Date().toISOString()],
      ];
      for (const [key, value] of tags)
        await s.call<void>('IMachine_setExtraData', { _this: machine, key, value });
      // Memory and CPUs are set by each start, which takes them from the Boxfile.
      await s.call<void>('IMachine_saveSettings', { _this: machine });
      await s.call<void>('IVirtualBox_registerMachine', { _this: s.vbox, machine });
      const vm = await findOwned(s, m.env, m.spec.name);
      if (vm === undefined) throw new Error(`internal: ${name} not found right after registering it`);
      try {
        // The disk lives in the machine's folder on the server: valid there even for a remote server.
        const folder = dirname(await s.call<string>('IMachine_getSettingsFilePath', { _this: vm.ref }));
        const location = join(folder, `${m.spec.name}-disk.vdi`);
        // Recorded before the file exists (by location: a medium has no UUID until its storage
        // exists), so destroy finds it whatever happens next.
        await withWriteLock(s, vm.ref, (mm) =>
          s.call<void>('IMachine_setExtraData', {
            _this: mm,
            key: TAG.media,
            value: JSON.stringify([location]),
          }),
        );
        const diff = await newMedium(s, location);
        await createDiff(s, base, diff);
        await withWriteLock(s, vm.ref, async (mm) => {
          const ctl = await s.call('IMachine_addStorageController', {
            _this: mm,
            name: CONTROLLER,
            connectionType: 'SATA',
          });
          const seed = this.seedOf(m);
          await s.call<void>('IStorageController_setPortCount', {
            _this: ctl,
            portCount: seed === undefined ? 1 : 2,
          });
          await s.call<void>('IMachine_attachDevice', {
            _this: mm,
            name: CONTROLLER,
            controllerPort: 0,
            device: 0,
            type: 'HardDisk',
            medium: diff.ref,
          });
          if (seed !== undefined) {
            // The cloud-init seed as a DVD on port 1; its path is recorded so destroy closes it.
            await s.call<void>('IMachine_setExtraData', { _this: mm, key: TAG.seed, value: seed });
            await s.call<void>('IMachine_attachDevice', {
              _this: mm,
              name: CONTROLLER,
              controllerPort: 1,
              device: 0,
              type: 'DVD',
              medium: (await openSeed(s, seed)).ref,
            });
          }
          await configureAdapters(s, mm, macFor(m.env.root, m.spec.name, 0), attachments);
        });
      } catch (e) {
        // A machine that is half made is worth nothing: remove what this call created.
        await this.remove(s, vm).catch(() => undefined);
        throw e;
      }
    });
  }

  /** A cloud-init machine's seed ISO (written by the write-seed step before the VM is created). */
  private seedOf(m: MachineContext): string | undefined {
    const state = readMachineState(m.env.root, m.spec.name);
    return state?.firstBoot === 'cloud-init' && existsSync(m.paths.seed) ? m.paths.seed : undefined;
  }

  start(m: MachineContext, _box: Box): Promise<StartResult> {
    return this.session(m, async (s) => {
      const vm = await this.require(s, m);
      const state = await s.call<string>('IMachine_getState', { _this: vm.ref });
      const previous = Number(await vm.tag(TAG.sshPort));
      if (statusOf(state).status === 'running' && previous > 0)
        return { ssh: { host: '127.0.0.1', port: previous }, accel: 'headless' };
      const ports = await withBootPorts(
        boxfestHome(this.processEnv),
        { project: m.env.root, machine: m.spec.name, ssh: true, forwards: m.spec.forwardedPorts },
        async ({ ssh, forwards }) => {
          await withWriteLock(s, vm.ref, async (mm) => {
            // A boot takes cpus/memory from the Boxfile (as on QEMU).
            await s.call<void>('IMachine_setMemorySize', { _this: mm, memorySize: m.spec.memory });
            await s.call<void>('IMachine_setCPUCount', { _this: mm, CPUCount: m.spec.cpus });
            await setRedirects(s, mm, { hostPort: ssh, guestPort: m.spec.sshGuestPort }, forwards);
            await s.call<void>('IMachine_setExtraData', { _this: mm, key: TAG.sshPort, value: String(ssh) });
          });
          await this.launch(s, vm.ref, m.spec.name);
          // The VM process belongs to the server (no pidfile here): this boxfest holds the ports
          // until it exits, then the bound ports themselves keep them from being chosen again.
          return undefined;
        },
      );
      return { ssh: { host: '127.0.0.1', port: ports.ssh }, accel: 'headless' };
    });
  }

  private async launch(s: Websession, machine: Ref, name: string): Promise<void> {
    const session = await s.call('IWebsessionManager_getSessionObject', { refIVirtualBox: s.vbox });
    try {
      const progress = await s.call(
        'IMachine_launchVMProcess',
        adapterFor(s.api).launchVMProcess(machine, session, 'headless', []),
      );
      await s.wait(progress, 'IMachine_launchVMProcess');
    } catch (e) {
      throw explainLaunchFailure(e, name);
    } finally {
      await s.call<void>('ISession_unlockMachine', { _this: session }).catch(() => undefined);
    }
  }

  stop(m: MachineContext, opts: { force: boolean; timeoutMs: number }): Promise<void> {
    return this.session(m, async (s) => {
      const vm = await findOwned(s, m.env, m.spec.name);
      if (vm === undefined) return;
      await this.stopVm(s, vm.ref, opts);
    });
  }

  private async stopVm(s: Websession, vm: Ref, opts: { force: boolean; timeoutMs: number }): Promise<void> {
    const running = async () =>
      statusOf(await s.call<string>('IMachine_getState', { _this: vm })).status === 'running';
    if (!(await running())) return;
    if (!opts.force) {
      await withConsole(s, vm, (c) => s.call<void>('IConsole_powerButton', { _this: c }));
      const until = Date.now() + opts.timeoutMs;
      while (Date.now() < until) {
        if (!(await running())) return;
        await sleep(POLL_MS);
      }
    }
    if (!(await running())) return;
    await withConsole(s, vm, async (c) =>
      s.wait(await s.call('IConsole_powerDown', { _this: c }), 'IConsole_powerDown'),
    );
  }

  destroy(m: MachineContext): Promise<void> {
    return this.session(m, async (s) => {
      const vm = await findOwned(s, m.env, m.spec.name);
      if (vm !== undefined) await this.remove(s, vm);
    });
  }

  /** Powers off, unregisters and deletes exactly the media boxfest recorded as its own. */
  private async remove(s: Websession, vm: OwnedMachine): Promise<void> {
    await this.stopVm(s, vm.ref, { force: true, timeoutMs: 0 });
    const ours = parseMedia(await vm.tag(TAG.media));
    const seed = await vm.tag(TAG.seed);
    // unregister returns every hard disk of the machine's chain, the box's medium (the parent)
    // included: deleting that list would delete the box. Keep only what boxfest created.
    const detached = await s.call<Ref[]>('IMachine_unregister', {
      _this: vm.ref,
      cleanupMode: 'DetachAllReturnHardDisksOnly',
    });
    const mine: Ref[] = [];
    for (const ref of detached)
      if (ours.includes(await s.call<string>('IMedium_getLocation', { _this: ref }))) mine.push(ref);
    // Below boxfest's diff VirtualBox may have made differencing images of its own for this
    // machine (seen with a streamOptimized VMDK box as the base): they go first, children first.
    const below: Ref[] = [];
    const walk = async (ref: Ref): Promise<void> => {
      for (const child of await s.call<Ref[]>('IMedium_getChildren', { _this: ref })) {
        await walk(child);
        below.push(child);
      }
    };
    for (const ref of mine) await walk(ref);
    const toDelete = [...below, ...mine];
    await s.wait(
      await s.call('IMachine_deleteConfig', { _this: vm.ref, media: toDelete }),
      'IMachine_deleteConfig',
    );
    // Media recorded but never attached (a crash between creating and attaching) go by UUID.
    await deleteMediaAt(s, ours);
    if (seed !== '') await closeSeed(s, seed);
  }

  private async require(s: Websession, m: MachineContext): Promise<OwnedMachine> {
    const vm = await findOwned(s, m.env, m.spec.name);
    if (vm === undefined)
      throw new BoxfestError(
        'VBOX_MACHINE_MISSING',
        `machine ${m.spec.name} is not registered on the server`,
        {
          machine: m.spec.name,
          hint: 'run `boxfest up` to create it',
        },
      );
    return vm;
  }

  consoleTail(_m: MachineContext, _lines: number): Promise<string> {
    return Promise.resolve(
      "(VirtualBox keeps the VM's log in VBox.log in the machine's folder on the server)",
    );
  }
}
