// The QEMU provider: local qemu-system + qemu-img + QMP. A machine is its overlay disk plus, while
// it runs, a daemonized QEMU process found through its pidfile.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import type { Box } from '../../boxes/store.js';
import { BoxfestError } from '../../errors.js';
import { readMachineState, updateMachineState } from '../../state/machine-state.js';
import { cmdlineOf, isAlive, readPidFile, waitUntil } from '../../state/process.js';
import type { SnapshotInfo, Snapshotter, Suspender } from '../optional.js';
import type { ActualMachine, MachineContext, Provider, StartResult } from '../provider.js';
import { chooseAccel, KVM_FAILURE, type Accel } from './accel.js';
import { qemuArgs } from './args.js';
import { QEMU_SYSTEM, runTool } from './exec.js';
import { checkBoxImage, createOverlay } from './image.js';
import { freePort, portIsFree } from './ports.js';
import { qmpExecute } from './qmp.js';
import { inspectQemu } from './inspect.js';
import { resumeQemu, suspendQemu } from './suspend.js';
import { deleteQemuSnapshot, listQemuSnapshots, restoreQemuSnapshot, saveQemuSnapshot } from './snapshot.js';
import { shellQuote } from '../../util/quote.js';
import { killIfAsked } from '../../util/fault.js';

const PORT_ATTEMPTS = 3;

export class QemuProvider implements Provider, Suspender, Snapshotter {
  readonly name = 'qemu' as const;

  constructor(private readonly processEnv: NodeJS.ProcessEnv = process.env) {}

  /** The PID of this machine's QEMU, only if that process really runs this machine's disk. */
  private runningPid(m: MachineContext): number | undefined {
    const pid = readPidFile(m.paths.pid);
    if (pid === undefined || !isAlive(pid)) return undefined;
    // PIDs get reused: only a QEMU whose command line names our disk is ours.
    // (QEMU's argv holds the disk path inside an option string, with commas doubled.)
    const disk = m.paths.disk.replaceAll(',', ',,');
    const argv = cmdlineOf(pid);
    return argv?.some((a) => a.includes(`file=${disk},`)) === true ? pid : undefined;
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
    await createOverlay(box.image, partial);
    // Rename last: a disk that exists is always complete.
    renameSync(partial, m.paths.disk);
  }

  async start(m: MachineContext, box: Box): Promise<StartResult> {
    if (this.runningPid(m) !== undefined) {
      const s = readMachineState(m.env.root, m.spec.name);
      if (s?.sshPort !== undefined)
        return { ssh: { host: '127.0.0.1', port: s.sshPort }, accel: s.accel ?? 'tcg' };
    }
    const choice = chooseAccel(this.processEnv, m.spec.qemu.accel);
    try {
      return await this.launch(m, box, choice.accel);
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

  private async launch(m: MachineContext, box: Box, accel: Accel): Promise<StartResult> {
    const previous = readMachineState(m.env.root, m.spec.name)?.sshPort;
    let port = previous !== undefined && (await portIsFree(previous)) ? previous : await freePort();
    for (let attempt = 1; ; attempt++) {
      for (const f of [m.paths.pid, m.paths.qmp]) rmSync(f, { force: true });
      const args = qemuArgs({
        project: m.env.root,
        spec: m.spec,
        paths: m.paths,
        diskInterface: m.spec.qemu.diskInterface ?? box.diskInterface,
        accel,
        sshPort: port,
        restrictNat: m.spec.qemu.restrictNetwork || this.processEnv['BOXFEST_QEMU_RESTRICT_NAT'] === '1',
      });
      writeFileSync(m.paths.qemuCmd, [QEMU_SYSTEM, ...args].map(shellQuote).join(' ') + '\n');
      // Recorded before the launch: after a crash right after it, state.json names the port the
      // running QEMU forwards, never the previous boot's.
      updateMachineState(m.env.root, m.spec.name, (s) => ({ ...s, sshPort: port, accel }));
      try {
        await runTool(QEMU_SYSTEM, args, `boot machine ${m.spec.name}`, { timeoutMs: 60_000 });
        killIfAsked('qemu-launched');
        break;
      } catch (e) {
        const portTaken = e instanceof BoxfestError && /host forwarding rule/i.test(e.details ?? '');
        if (!portTaken || attempt >= PORT_ATTEMPTS) throw e;
        port = await freePort();
      }
    }
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
    this.cleanRuntimeFiles(m);
  }

  private cleanRuntimeFiles(m: MachineContext): void {
    for (const f of [m.paths.pid, m.paths.qmp]) rmSync(f, { force: true });
    if (readMachineState(m.env.root, m.spec.name)?.suspended === true)
      updateMachineState(m.env.root, m.spec.name, (s) => ({ ...s, suspended: false }));
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
