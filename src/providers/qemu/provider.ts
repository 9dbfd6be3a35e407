// The QEMU provider: local qemu-system + qemu-img + QMP. A machine is its overlay disk plus, while
// it runs, a daemonized QEMU process found through its pidfile.
import { openNetworkProbe } from './network-probe.js';
import { offeredIdentityFiles } from '../../guest/offered-identity.js';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import type { Box } from '../../boxes/store.js';
import { BoxfestError, errorMessage } from '../../errors.js';
import { readLeases } from '../../network/leases.js';
import { machineNics } from '../../network/nics.js';
import { withBootPorts } from '../../network/ports.js';
import { readMachineState, updateMachineState, type InstantRecord } from '../../state/machine-state.js';
import { boxfestHome } from '../../state/paths.js';
import { isAlive, readPidFile, waitUntil } from '../../state/process.js';
import { killIfAsked } from '../../util/fault.js';
import { shellQuote } from '../../util/quote.js';
import { shared } from '../../util/shared.js';
import type { InstantStarter, Packager, SnapshotInfo, Snapshotter, Suspender } from '../optional.js';
import type { ActualMachine, GuestNetworkProbe, MachineContext, Provider, StartResult } from '../provider.js';
import { chooseAccel, KVM_FAILURE, type Accel } from './accel.js';
import { liveShares } from '../../sync/shares.js';
import { qemuArgs, type LaunchNic, type LaunchShare } from './args.js';
import { bridgeHelper, checkBridge } from './bridge.js';
import { QEMU_SYSTEM, runTool } from './exec.js';
import { checkBoxImage, createOverlay, flattenCompressed } from './image.js';
import { ensureDataDisks, growImage } from './data-disks.js';
import { diskMark, inspectQemu, machineQemuPid } from './inspect.js';
import { cannotRestore, ensureState, loadState, ramFileProblem, readState, shapeOf } from './instant.js';
import { instantStatePaths, qemuPaths } from './paths.js';
import { qmpExecute } from './qmp.js';
import { deleteQemuSnapshot, listQemuSnapshots, restoreQemuSnapshot, saveQemuSnapshot } from './snapshot.js';
import { resumeQemu, suspendQemu } from './suspend.js';
import { startVirtiofsds, stopVirtiofsds } from './virtiofs.js';
import { ensureSwitch, stopUnusedSwitches } from './switch.js';

/** Whether the machine was suspended; false when its state.json is unreadable (destroy still works). */
function suspendedFlag(m: MachineContext): boolean {
  try {
    return readMachineState(m.env.root, m.spec.name)?.suspended === true;
  } catch {
    return false;
  }
}

export class QemuProvider implements Provider, Suspender, Snapshotter, InstantStarter, Packager {
  readonly name = 'qemu' as const;
  readonly boxFormat = 'qemu' as const;
  readonly keepsCreated = false;
  readonly offersIdentity = true;

  constructor(private readonly processEnv: NodeJS.ProcessEnv = process.env) {}

  /** The PID of this machine's QEMU, only if that process really runs this machine's disk. */
  private runningPid(m: MachineContext): number | undefined {
    return machineQemuPid(qemuPaths(m.paths.dir));
  }

  inspect(m: MachineContext): Promise<ActualMachine> {
    const state = readMachineState(m.env.root, m.spec.name);
    const name = m.spec.name;
    if (state === undefined) return Promise.resolve({ name, state: 'not_created' });
    return inspectQemu(m, state, this.runningPid(m));
  }

  async importBox(_m: MachineContext, box: Box): Promise<void> {
    // QEMU uses the stored image in place, as a read-only backing file: nothing to copy.
    await shared(`qemu-box\0${box.image}\0${box.sha256}`, () => checkBoxImage(box.image));
  }

  async create(m: MachineContext, box: Box): Promise<void> {
    const { disk } = qemuPaths(m.paths.dir);
    if (existsSync(disk)) return;
    mkdirSync(m.paths.dir, { recursive: true });
    const partial = `${disk}.partial`;
    rmSync(partial, { force: true });
    // A machine to be restored sits on the saved state's golden disk, the others on the box.
    const key = readMachineState(m.env.root, m.spec.name)?.instant?.key;
    const base =
      key === undefined ? box.image : instantStatePaths(this.home, box.name, box.version, key).disk;
    await createOverlay(base, partial);
    // Rename last: a disk that exists is always complete.
    renameSync(partial, disk);
  }

  private get home(): string {
    return boxfestHome(this.processEnv);
  }

  private restrictNat(m: MachineContext): boolean {
    return m.spec.qemu.restrictNetwork || this.processEnv['BOXFEST_QEMU_RESTRICT_NAT'] === '1';
  }

  async prepareInstant(
    m: MachineContext,
    box: Box,
    onLine: (l: string) => void,
  ): Promise<string | undefined> {
    const record = (instant: InstantRecord) =>
      updateMachineState(m.env.root, m.spec.name, (s) => ({ ...s, instant }));
    const why = cannotRestore(m.spec, box);
    if (why !== undefined) {
      record({ fallback: why });
      return why;
    }
    const accel = chooseAccel(this.processEnv, m.spec.qemu.accel).accel;
    try {
      const meta = await ensureState(this.home, box, shapeOf(m.spec, accel), this.restrictNat(m), onLine);
      record({ key: meta.key, macs: meta.macs, hostKey: meta.hostKey, reseed: meta.reseed, sshd: meta.sshd });
      return undefined;
    } catch (e) {
      const reason = `no saved state could be made: ${errorMessage(e)}`;
      record({ fallback: reason });
      return reason;
    }
  }

  async start(m: MachineContext, box: Box): Promise<StartResult> {
    if (this.runningPid(m) !== undefined) {
      const s = readMachineState(m.env.root, m.spec.name);
      if (s?.sshPort !== undefined)
        return { ssh: { host: '127.0.0.1', port: s.sshPort }, accel: s.accel ?? 'tcg' };
    }
    await this.prepareDisks(m);
    const restored = await this.startRestored(m, box);
    if (restored !== undefined && 'ssh' in restored) return restored;
    const note = restored?.note;
    // A failed restore boots after all: as a boot, it waits its turn (20 machines whose saved
    // state would not load booted at once, and 14 missed boot_timeout).
    if (note !== undefined) await m.bootTurn?.();
    const choice = chooseAccel(this.processEnv, m.spec.qemu.accel);
    try {
      const r = await this.launch(m, box, choice.accel);
      return note === undefined ? r : { ...r, note };
    } catch (e) {
      if (
        choice.accel === 'kvm' &&
        choice.reason === '/dev/kvm is usable' &&
        e instanceof BoxfestError &&
        KVM_FAILURE.test(e.details ?? '')
      ) {
        const r = await this.launch(m, box, 'tcg');
        return { ...r, note: 'KVM failed to start the guest; fell back to TCG (software emulation)' };
      }
      throw e;
    }
  }

  /**
   * Before a boot (the VM is off): the system overlay grown to `disk_size`, the data disks made or
   * grown, and what is attached recorded for `status`.
   */
  private async prepareDisks(m: MachineContext): Promise<void> {
    const q = qemuPaths(m.paths.dir);
    if (m.spec.diskSize !== undefined)
      await growImage(q.disk, m.spec.diskSize, "the machine's disk", m.spec.name);
    const dataDisks = await ensureDataDisks(q, m.spec);
    updateMachineState(m.env.root, m.spec.name, (s) => ({ ...s, dataDisks }));
  }

  /** The seed a cloud-init machine boots with (written by the write-seed step before each boot). */
  private seedOf(m: MachineContext): string | undefined {
    const s = readMachineState(m.env.root, m.spec.name);
    return s?.firstBoot === 'cloud-init' && existsSync(m.paths.seed) ? m.paths.seed : undefined;
  }

  /**
   * The identity offered to a first boot (steps/offer-identity.ts), while the guest has not
   * answered yet. A restore gets none: its guest booted before it was saved, and its saved
   * devices must match.
   */
  private identityOf(m: MachineContext): { name: string; file: string }[] {
    const s = readMachineState(m.env.root, m.spec.name);
    if (s?.hostKey !== undefined || s?.hostKeyPending === undefined) return [];
    return offeredIdentityFiles(m.env.root, m.paths.identity);
  }

  /**
   * The first start of a machine made for a saved state: restore it. Undefined when there is
   * nothing to restore; `{ note }` when restoring failed and the machine must boot normally.
   */
  private async startRestored(
    m: MachineContext,
    box: Box,
  ): Promise<StartResult | { note: string } | undefined> {
    const instant = readMachineState(m.env.root, m.spec.name)?.instant;
    if (instant?.key === undefined || instant.used === true) return undefined;
    // Recorded first: a disk that ran even once must never get the saved RAM again.
    updateMachineState(m.env.root, m.spec.name, (s) => ({ ...s, instant: { ...instant, used: true } }));
    const meta = readState(this.home, box, instant.key);
    const fallback = (why: string) => {
      updateMachineState(m.env.root, m.spec.name, (s) => ({
        ...s,
        instant: { ...instant, used: true, fallback: why },
      }));
      return { note: `instant: ${why}; booting normally` };
    };
    if (meta === undefined) return fallback('its saved state is gone');
    const saved = instantStatePaths(this.home, box.name, box.version, meta.key);
    const ramProblem = ramFileProblem(saved, meta);
    if (ramProblem !== undefined) return fallback(ramProblem);
    const ramFile = meta.ramFile === undefined ? undefined : saved.ram;
    try {
      const r = await this.launch(m, box, meta.accel, { ramFile });
      const q = qemuPaths(m.paths.dir);
      await loadState(q.qmp, q.pid, saved.vmState, ramFile !== undefined);
      updateMachineState(m.env.root, m.spec.name, (s) => ({
        ...s,
        instant: { ...instant, used: true, restored: true },
      }));
      return { ...r, note: 'restored from the saved ready state' };
    } catch (e) {
      await this.endProcess(m);
      return fallback(`the saved state did not load (${errorMessage(e)})`);
    }
  }

  /** Ends this machine's QEMU at once and removes its runtime files; its switch stays. */
  private async endProcess(m: MachineContext): Promise<void> {
    const pid = this.runningPid(m);
    if (pid !== undefined) {
      process.kill(pid, 'SIGKILL');
      await waitUntil(() => !isAlive(pid), 3_000, 20);
    }
    const q = qemuPaths(m.paths.dir);
    for (const f of [q.pid, q.qmp]) rmSync(f, { force: true });
    await stopVirtiofsds(m.paths.dir);
  }

  /** Live shares' devices; the virtiofsd of each virtiofs share is started here, before QEMU. */
  private async launchShares(m: MachineContext): Promise<LaunchShare[]> {
    const shares = liveShares(m.spec);
    await startVirtiofsds(m.paths.dir, m.spec.name, shares, this.processEnv);
    return shares.map((s) =>
      s.type === 'virtiofs'
        ? { type: s.type, tag: s.tag, socket: qemuPaths(m.paths.dir).virtiofsd(s.index).socket }
        : { type: s.type, tag: s.tag, src: s.src },
    );
  }

  /**
   * NICs 1..n: private ones plugged into their network's switch (started on demand and held
   * until `release`), bridged ones checked.
   */
  private async launchNics(m: MachineContext, releases: (() => void)[]): Promise<LaunchNic[]> {
    const helper = bridgeHelper(this.processEnv);
    const nics = machineNics(m.env, m.spec, (n) => readLeases(m.env.root, n));
    const out: LaunchNic[] = [];
    for (const nic of nics) {
      if (nic.kind === 'private') {
        const { ctl: switchCtl, release } = await ensureSwitch(m.env.root, nic.network);
        releases.push(release);
        out.push({ ...nic, switchCtl });
      } else {
        checkBridge(m.spec.name, nic.network, nic.bridge, helper);
        out.push({ ...nic, helper });
      }
    }
    return out;
  }

  /** Starts the machine's QEMU: booting, or (`restore`) paused for a saved state to be loaded. */
  private async launch(
    m: MachineContext,
    box: Box,
    accel: Accel,
    restore?: { ramFile: string | undefined },
  ): Promise<StartResult> {
    const q = qemuPaths(m.paths.dir);
    const seed = this.seedOf(m);
    const identity = restore === undefined ? this.identityOf(m) : [];
    const releases: (() => void)[] = [];
    try {
      const nics = await this.launchNics(m, releases);
      const shares = await this.launchShares(m);
      updateMachineState(m.env.root, m.spec.name, (s) => ({ ...s, accel }));
      const { ssh } = await withBootPorts(
        this.home,
        {
          project: m.env.root,
          machine: m.spec.name,
          ssh: true,
          forwards: m.spec.forwardedPorts,
          successor: { pidFile: q.pid, mark: diskMark(q.disk) },
          // Something outside boxfest took the SSH port between the choice and the launch.
          sshTaken: (e, port) =>
            e instanceof BoxfestError &&
            new RegExp(`host forwarding rule.*:${port}-`, 'i').test(e.details ?? ''),
        },
        async (ports) => {
          for (const f of [q.pid, q.qmp]) rmSync(f, { force: true });
          const args = qemuArgs({
            project: m.env.root,
            spec: m.spec,
            paths: q,
            diskInterface: m.spec.qemu.diskInterface ?? box.diskInterface,
            accel,
            sshPort: ports.ssh,
            restrictNat: this.restrictNat(m),
            forwards: ports.forwards,
            nics,
            incoming: restore !== undefined,
            ...(restore?.ramFile === undefined ? {} : { ramFile: { path: restore.ramFile, share: false } }),
            shares,
            dataDisks: readMachineState(m.env.root, m.spec.name)?.dataDisks ?? [],
            ...(seed === undefined ? {} : { seed }),
            identity,
          });
          writeFileSync(q.cmd, [QEMU_SYSTEM, ...args].map(shellQuote).join(' ') + '\n');
          await runTool(QEMU_SYSTEM, args, `boot machine ${m.spec.name}`, { timeoutMs: 60_000 });
          killIfAsked('qemu-launched');
          return readPidFile(q.pid);
        },
      );
      return { ssh: { host: '127.0.0.1', port: ssh }, accel };
    } catch (e) {
      // QEMU did not come up: its virtiofsds would wait for it forever.
      if (this.runningPid(m) === undefined) await stopVirtiofsds(m.paths.dir);
      throw e;
    } finally {
      for (const release of releases) release();
    }
  }

  async stop(m: MachineContext, opts: { force: boolean; timeoutMs: number }): Promise<void> {
    const pid = this.runningPid(m);
    if (pid === undefined) return this.cleanRuntimeFiles(m);
    const { qmp } = qemuPaths(m.paths.dir);
    // A paused guest cannot see the power button: continue it first.
    if (!opts.force && suspendedFlag(m)) await qmpExecute(qmp, 'cont').catch(() => undefined);
    if (!opts.force) {
      try {
        await qmpExecute(qmp, 'system_powerdown');
        if (await waitUntil(() => !isAlive(pid), opts.timeoutMs, 50)) return this.cleanRuntimeFiles(m);
      } catch {
        // QMP unreachable: fall through to the forced path.
      }
    }
    try {
      await qmpExecute(qmp, 'quit', undefined, 2_000);
    } catch {
      // fall through to SIGKILL
    }
    if (!(await waitUntil(() => !isAlive(pid), 3_000, 20))) {
      if (this.runningPid(m) === pid) process.kill(pid, 'SIGKILL');
      await waitUntil(() => !isAlive(pid), 3_000, 20);
    }
    await this.cleanRuntimeFiles(m);
  }

  private async cleanRuntimeFiles(m: MachineContext): Promise<void> {
    const q = qemuPaths(m.paths.dir);
    for (const f of [q.pid, q.qmp]) rmSync(f, { force: true });
    await stopVirtiofsds(m.paths.dir);
    if (suspendedFlag(m)) updateMachineState(m.env.root, m.spec.name, (s) => ({ ...s, suspended: false }));
    // The last machine off a private network takes its switch down with it.
    await stopUnusedSwitches(m.env.root);
  }

  // Optional capabilities: each in its own module.
  suspend(m: MachineContext): Promise<void> {
    return suspendQemu(m, this.runningPid(m));
  }

  resume(m: MachineContext): Promise<void> {
    return resumeQemu(m, this.runningPid(m));
  }

  saveSnapshot(m: MachineContext, name: string): Promise<void> {
    return saveQemuSnapshot(m, name, this.runningPid(m) !== undefined);
  }

  restoreSnapshot(m: MachineContext, name: string): Promise<void> {
    if (this.runningPid(m) !== undefined)
      throw new Error('internal: restoreSnapshot needs a halted machine (the command halts it first)');
    return restoreQemuSnapshot(m, name);
  }

  listSnapshots(m: MachineContext): Promise<SnapshotInfo[]> {
    return listQemuSnapshots(m);
  }

  deleteSnapshot(m: MachineContext, name: string): Promise<void> {
    return deleteQemuSnapshot(m, name, this.runningPid(m) !== undefined);
  }

  async destroy(m: MachineContext): Promise<void> {
    await this.stop(m, { force: true, timeoutMs: 0 });
    // Only the overlay: the box image it is backed by is never touched.
    const { disk } = qemuPaths(m.paths.dir);
    for (const f of [disk, `${disk}.partial`]) rmSync(f, { force: true });
  }

  /** The disk is read while nothing runs it (the command checked the machine is halted). */
  packageDisk(m: MachineContext, dest: string): Promise<void> {
    return flattenCompressed(qemuPaths(m.paths.dir).disk, dest);
  }

  /** A failure to add the forward leaves the wait without it, as on other providers. */
  networkProbe(m: MachineContext): Promise<GuestNetworkProbe | undefined> {
    return openNetworkProbe(qemuPaths(m.paths.dir).qmp).catch(() => undefined);
  }

  consoleTail(m: MachineContext, lines: number): Promise<string> {
    try {
      const text = readFileSync(qemuPaths(m.paths.dir).serialLog, 'utf8');
      return Promise.resolve(text.split('\n').slice(-lines).join('\n').trimEnd());
    } catch {
      return Promise.resolve('(no serial console output)');
    }
  }
}
