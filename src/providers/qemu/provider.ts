// The QEMU provider: local qemu-system + qemu-img + QMP. A machine is its overlay disk plus, while
// it runs, a daemonized QEMU process found through its pidfile.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import type { Box } from '../../boxes/store.js';
import { BoxfestError } from '../../errors.js';
import { readMachineState, updateMachineState, type InstantRecord } from '../../state/machine-state.js';
import { isAlive, machineQemuPid, readPidFile, waitUntil } from '../../state/process.js';
import type { InstantStarter, SnapshotInfo, Snapshotter, Suspender } from '../optional.js';
import type { ActualMachine, MachineContext, Provider, StartResult } from '../provider.js';
import { chooseAccel, KVM_FAILURE, type Accel } from './accel.js';
import { qemuArgs } from './args.js';
import { QEMU_SYSTEM, runTool } from './exec.js';
import { checkBoxImage, createOverlay } from './image.js';
import { ensureDataDisks, growImage } from './data-disks.js';
import { qmpExecute } from './qmp.js';
import { inspectQemu } from './inspect.js';
import { resumeQemu, suspendQemu } from './suspend.js';
import { deleteQemuSnapshot, listQemuSnapshots, restoreQemuSnapshot, saveQemuSnapshot } from './snapshot.js';
import { shellQuote } from '../../util/quote.js';
import { readLeases } from '../../network/leases.js';
import { machineNics } from '../../network/nics.js';
import {
  choosePorts,
  chooseSshPort,
  recordPortHolders,
  withPortsLock,
  type PortMapping,
} from '../../network/ports.js';
import { boxfestHome } from '../../state/paths.js';
import type { LaunchNic } from './args.js';
import { bridgeHelper, checkBridge } from './bridge.js';
import { ensureSwitch, holdSwitch, stopUnusedSwitches } from './switch.js';
import { cannotRestore, ensureState, loadState, readState, shapeOf } from './instant.js';
import { instantStatePaths } from '../../state/paths.js';
import { errorMessage } from '../../errors.js';
import { killIfAsked } from '../../util/fault.js';

const PORT_ATTEMPTS = 3;

export class QemuProvider implements Provider, Suspender, Snapshotter, InstantStarter {
  readonly name = 'qemu' as const;

  constructor(private readonly processEnv: NodeJS.ProcessEnv = process.env) {}

  /** The PID of this machine's QEMU, only if that process really runs this machine's disk. */
  private runningPid(m: MachineContext): number | undefined {
    return machineQemuPid(m.paths);
  }

  inspect(m: MachineContext): Promise<ActualMachine> {
    const state = readMachineState(m.env.root, m.spec.name);
    const name = m.spec.name;
    if (state === undefined) return Promise.resolve({ name, state: 'not_created' });
    return inspectQemu(m, state, this.runningPid(m));
  }

  async importBox(box: Box): Promise<void> {
    // QEMU uses the stored image in place, as a read-only backing file: nothing to copy.
    await checkBoxImage(box.image);
  }

  async createDisk(m: MachineContext, box: Box): Promise<void> {
    if (existsSync(m.paths.disk)) return;
    mkdirSync(m.paths.dir, { recursive: true });
    const partial = `${m.paths.disk}.partial`;
    rmSync(partial, { force: true });
    // A machine to be restored sits on the saved state's golden disk, the others on the box.
    const key = readMachineState(m.env.root, m.spec.name)?.instant?.key;
    const base =
      key === undefined ? box.image : instantStatePaths(this.home, box.name, box.version, key).disk;
    await createOverlay(base, partial);
    // Rename last: a disk that exists is always complete.
    renameSync(partial, m.paths.disk);
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
      record({ key: meta.key, macs: meta.macs, hostKey: meta.hostKey, reseed: meta.reseed });
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
    if (m.spec.diskSize !== undefined)
      await growImage(m.paths.disk, m.spec.diskSize, "the machine's disk", m.spec.name);
    const dataDisks = await ensureDataDisks(m.paths, m.spec);
    updateMachineState(m.env.root, m.spec.name, (s) => ({ ...s, dataDisks }));
  }

  /** The seed a cloud-init machine boots with (written by the write-seed step before each boot). */
  private seedOf(m: MachineContext): string | undefined {
    const s = readMachineState(m.env.root, m.spec.name);
    return s?.firstBoot === 'cloud-init' && existsSync(m.paths.seed) ? m.paths.seed : undefined;
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
    try {
      const r = await this.launch(m, box, meta.accel, true);
      await loadState(
        m.paths.qmp,
        m.paths.pid,
        instantStatePaths(this.home, box.name, box.version, meta.key).vmState,
      );
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
    for (const f of [m.paths.pid, m.paths.qmp]) rmSync(f, { force: true });
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
        const switchCtl = await ensureSwitch(m.env.root, nic.network);
        releases.push(holdSwitch(switchCtl));
        out.push({ ...nic, switchCtl });
      } else {
        checkBridge(m.spec.name, nic.network, nic.bridge, helper);
        out.push({ ...nic, helper });
      }
    }
    return out;
  }

  private async launch(m: MachineContext, box: Box, accel: Accel, incoming = false): Promise<StartResult> {
    const releases: (() => void)[] = [];
    try {
      const nics = await this.launchNics(m, releases);
      return await this.launchWith(m, box, accel, nics, incoming);
    } finally {
      for (const release of releases) release();
    }
  }

  private async launchWith(
    m: MachineContext,
    box: Box,
    accel: Accel,
    nics: LaunchNic[],
    incoming: boolean,
  ): Promise<StartResult> {
    const home = this.home;
    const owner = { project: m.env.root, machine: m.spec.name };
    const hold = (pid: number, ssh: number, forwards: readonly PortMapping[]) =>
      recordPortHolders(home, { ...owner, pid }, [
        { hostIp: '127.0.0.1', port: ssh, protocol: 'tcp' },
        ...forwards.map((f) => ({ hostIp: f.hostIp, port: f.host, protocol: f.protocol })),
      ]);
    const held = (pid: number, ssh: number, forwards: readonly PortMapping[]) =>
      withPortsLock(home, () => Promise.resolve(hold(pid, ssh, forwards)));
    // Chosen and reserved (held by this process) in one turn of the host-wide lock; QEMU binds
    // them outside it, so the machines of one `up` start their QEMUs at once.
    const state = readMachineState(m.env.root, m.spec.name);
    const chosen = await withPortsLock(home, async () => {
      const ssh = await chooseSshPort(home, owner, state?.sshPort);
      const forwards = await choosePorts(home, owner, m.spec.forwardedPorts, state?.ports ?? [], [ssh]);
      hold(process.pid, ssh, forwards);
      return { ssh, forwards };
    });
    const forwards = chosen.forwards;
    const seed = this.seedOf(m);
    let port = chosen.ssh;
    try {
      for (let attempt = 1; ; attempt++) {
        for (const f of [m.paths.pid, m.paths.qmp]) rmSync(f, { force: true });
        const args = qemuArgs({
          project: m.env.root,
          spec: m.spec,
          paths: m.paths,
          diskInterface: m.spec.qemu.diskInterface ?? box.diskInterface,
          accel,
          sshPort: port,
          restrictNat: this.restrictNat(m),
          forwards,
          nics,
          incoming,
          dataDisks: state?.dataDisks ?? [],
          ...(seed === undefined ? {} : { seed }),
        });
        writeFileSync(m.paths.qemuCmd, [QEMU_SYSTEM, ...args].map(shellQuote).join(' ') + '\n');
        // Recorded before the launch: after a crash right after it, state.json names the ports the
        // running QEMU forwards, never the previous boot's.
        updateMachineState(m.env.root, m.spec.name, (s) => ({ ...s, sshPort: port, accel, ports: forwards }));
        try {
          await runTool(QEMU_SYSTEM, args, `boot machine ${m.spec.name}`, { timeoutMs: 60_000 });
          killIfAsked('qemu-launched');
          break;
        } catch (e) {
          // Something outside boxfest took the SSH port meanwhile: another one.
          const sshTaken =
            e instanceof BoxfestError &&
            new RegExp(`host forwarding rule.*:${port}-`, 'i').test(e.details ?? '');
          if (!sshTaken || attempt >= PORT_ATTEMPTS) throw e;
          port = await withPortsLock(home, async () => {
            const ssh = await chooseSshPort(home, owner);
            hold(process.pid, ssh, forwards);
            return ssh;
          });
        }
      }
    } catch (e) {
      // The reservation goes with the failed launch (a dead boxfest's would be pruned anyway).
      await withPortsLock(home, () =>
        Promise.resolve(recordPortHolders(home, { ...owner, pid: 0 }, [])),
      ).catch(() => undefined);
      throw e;
    }
    await held(readPidFile(m.paths.pid) ?? process.pid, port, forwards);
    return { ssh: { host: '127.0.0.1', port }, accel };
  }

  async stop(m: MachineContext, opts: { force: boolean; timeoutMs: number }): Promise<void> {
    const pid = this.runningPid(m);
    if (pid === undefined) return this.cleanRuntimeFiles(m);
    // A paused guest cannot see the power button: continue it first.
    if (!opts.force && readMachineState(m.env.root, m.spec.name)?.suspended === true)
      await qmpExecute(m.paths.qmp, 'cont').catch(() => undefined);
    if (!opts.force) {
      try {
        await qmpExecute(m.paths.qmp, 'system_powerdown');
        if (await waitUntil(() => !isAlive(pid), opts.timeoutMs, 50)) return this.cleanRuntimeFiles(m);
      } catch {
        // QMP unreachable: fall through to the forced path.
      }
    }
    try {
      await qmpExecute(m.paths.qmp, 'quit', undefined, 2_000);
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
    for (const f of [m.paths.pid, m.paths.qmp]) rmSync(f, { force: true });
    if (readMachineState(m.env.root, m.spec.name)?.suspended === true)
      updateMachineState(m.env.root, m.spec.name, (s) => ({ ...s, suspended: false }));
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
    for (const f of [m.paths.disk, `${m.paths.disk}.partial`]) rmSync(f, { force: true });
  }

  consoleTail(m: MachineContext, lines: number): string {
    try {
      const text = readFileSync(m.paths.serialLog, 'utf8');
      return text.split('\n').slice(-lines).join('\n').trimEnd();
    } catch {
      return '(no serial console output)';
    }
  }
}
