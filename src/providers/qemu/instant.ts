// Instant up: a new machine starts from a saved ready state instead of booting. Per box and
// hardware shape, a "golden" VM boots once on its own overlay of the box, with its RAM in a file
// (a shared memory backend), is paused and its devices are written to a file (QMP `migrate` to
// `exec:cat`, with `x-ignore-shared`: the RAM is in its file already); every later machine of
// that shape gets an overlay on the golden disk and a QEMU with the identical device set whose
// RAM maps the golden RAM file copy-on-write (`share=off`), loads the device state
// (`-incoming defer`, `migrate-incoming`) and continues. Measured with 20 tiny machines: the
// restores' QEMUs took 1135 MiB (PSS) instead of 3616 MiB when each loaded its own copy of the RAM,
// and each QEMU spent 0.13 s of CPU instead of 0.2-0.5 s until the state was loaded. The golden
// disk and RAM file are never written again after the save: the RAM holds the guest's view of the disk.
//
// What makes a restore impossible is decided before anything starts (shape, disk interface,
// a guest that cannot reseed its RNG) and reported as a reason to boot cold instead; a restore
// that fails while loading is ended and the machine boots cold from the same disk.
import { createHash } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import { firstBootOf, type Box } from '../../boxes/store.js';
import type { MachineSpec } from '../../config/types.js';
import { BoxfestError, errorMessage } from '../../errors.js';
import { exec, waitForSsh } from '../../ssh/client.js';
import { withBootPorts } from '../../network/ports.js';
import { readJson, writeJsonAtomic } from '../../state/atomic.js';
import { isAlive, readPidFile, sleep, waitUntil } from '../../state/process.js';
import { withWaitingLock } from '../../state/wait-lock.js';
import { liveShares } from '../../sync/shares.js';
import type { Accel } from './accel.js';
import { macFor, qemuArgs, type LaunchFiles, type LaunchNic } from './args.js';
import { QEMU_SYSTEM, runTool } from './exec.js';
import { createOverlay } from './image.js';
import { diskMark } from './inspect.js';
import { instantStatePaths, statesDir } from './paths.js';
import { qmpExecute } from './qmp.js';

import type { Reseed } from '../../guest/identity.js';
import { parseSshdProbe, PROBE_SSHD_SCRIPT, type SshDaemon } from '../../guest/host-key.js';
import { asRoot } from '../../ssh/as-root.js';

export interface InstantMeta {
  key: string;
  box: { name: string; sha256: string };
  qemu: string;
  memory: number;
  cpus: number;
  /** NICs beyond the NAT. */
  nics: number;
  accel: Accel;
  extraArgs: string[];
  /** The golden VM's MACs, NAT first: what a restored guest starts with. */
  macs: string[];
  /** The golden guest's SSH host key, which every restore presents until it makes its own. */
  hostKey: string;
  reseed: Reseed;
  /** How a restore gets its own host key; probed when the state is saved. */
  sshd: SshDaemon;
  stateBytes: number;
  /**
   * The RAM file, as saved (never written after the save): a restore checks it is that file still.
   * States saved before RAM files have none: their RAM is in the VM state.
   */
  ramFile?: { bytes: number; ctimeMs: number };
  createdAt: string;
}

/**
 * The record, in the box's saved states, that no state can be made for this box and shape (the
 * guest cannot reseed its RNG): every later machine of that shape boots normally at once,
 * instead of booting its own golden VM first. A new box (other content) or QEMU is another key.
 */
export interface Unrestorable extends Pick<
  InstantMeta,
  'key' | 'box' | 'qemu' | 'memory' | 'cpus' | 'nics' | 'accel'
> {
  /** Which of the PERMANENT failures; records written before it was kept are INSTANT_NO_RESEED. */
  code?: Permanent;
  reason: string;
  decidedAt: string;
}

/** Failures that are the box's own and stay: recorded for the box and shape. */
const PERMANENT = ['INSTANT_NO_RESEED', 'INSTANT_NO_SSHD'] as const;
type Permanent = (typeof PERMANENT)[number];
const isPermanent = (code: string): code is Permanent => (PERMANENT as readonly string[]).includes(code);

/**
 * Shapes whose state could not be made in this process, for any reason: the other machines of
 * the same `up`, which waited for that one golden boot, boot normally at once instead of each
 * trying again in turn.
 */
const failedHere = new Map<string, BoxfestError>();

export interface Shape {
  memory: number;
  cpus: number;
  nics: number;
  accel: Accel;
  extraArgs: string[];
}

let qemuVersionMemo: Promise<string> | undefined;
/** `QEMU emulator version 7.2.22 (...)`: a saved state only loads into the QEMU that wrote it. */
export function qemuVersion(): Promise<string> {
  qemuVersionMemo ??= runTool(QEMU_SYSTEM, ['--version'], 'read the QEMU version').then(
    (r) => r.stdout.split('\n')[0]?.trim() ?? 'unknown',
  );
  return qemuVersionMemo;
}

export function shapeOf(spec: MachineSpec, accel: Accel): Shape {
  return {
    memory: spec.memory,
    cpus: spec.cpus,
    nics: spec.networks.length,
    accel,
    extraArgs: spec.qemu.extraArgs,
  };
}

/** The state key: box content, QEMU version and hardware shape. Anything else may differ. */
export function stateKey(box: Box, qemu: string, shape: Shape): string {
  const text = JSON.stringify({ box: box.sha256, qemu, ...shape });
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/** Why this machine cannot start from a saved state, or undefined when it can. */
export function cannotRestore(spec: MachineSpec, box: Box): string | undefined {
  // A cloud image makes its user, keys and host keys from its own seed at its first boot: a saved
  // state is a boot that already happened, for no one's seed.
  if (firstBootOf(box) === 'cloud-init')
    return 'a cloud-init box is set up by its own first boot (user, login key, host keys, network from its seed), which a saved state has already passed';
  if (spec.diskSize !== undefined)
    return "the saved state was made with the box's disk size, and `disk_size` changes it";
  if (spec.disks.length > 0) return 'extra data disks are devices the saved state does not have';
  const disk = spec.qemu.diskInterface ?? box.diskInterface;
  if (disk !== 'virtio')
    return `its disk is attached as ${disk}, which QEMU cannot save (set \`qemu.disk_interface: virtio\`, or add the box with \`--disk-interface virtio\`)`;
  const live = [...new Set(liveShares(spec).map((s) => s.type))];
  if (live.length > 0)
    return `its ${live.join(' and ')} shared folders need devices the saved state does not have (QEMU 7.2 cannot migrate vhost-user-fs)`;
  if (spec.qemu.extraArgs.some((a) => a.includes('memory-backend')))
    return "its `qemu.extra_args` set the guest's memory backend, which a saved state's RAM file takes";
  return undefined;
}

export function readState(home: string, box: Box, key: string): InstantMeta | undefined {
  const p = instantStatePaths(home, box.name, box.version, key);
  const meta = readJson<InstantMeta>(p.meta);
  // A state saved before restores were probed for their SSH server is saved again.
  if (meta?.sshd === undefined || !existsSync(p.disk) || !existsSync(p.vmState)) return undefined;
  return meta;
}

/** The saved state for this box and shape, saved now (booting the golden VM once) if there is none. */
export async function ensureState(
  home: string,
  box: Box,
  shape: Shape,
  restrictNat: boolean,
  onLine: (l: string) => void,
): Promise<InstantMeta> {
  const qemu = await qemuVersion();
  const key = stateKey(box, qemu, shape);
  const p = instantStatePaths(home, box.name, box.version, key);
  const existing = readState(home, box, key);
  if (existing !== undefined) return existing;
  throwIfDecided(p, key);
  await pruneStaleStates(home, box);
  // Machines of one shape wait for one golden boot, also across boxfest processes.
  return withWaitingLock(p.lock, 'save a ready state', 300_000, async () => {
    const again = readState(home, box, key);
    if (again !== undefined) return again;
    throwIfDecided(p, key);
    onLine(`no saved state for this shape yet: booting it once to save one`);
    try {
      return await saveState(home, box, shape, qemu, key, p, restrictNat);
    } catch (e) {
      const err =
        e instanceof BoxfestError
          ? e
          : new BoxfestError('INSTANT_SAVE_FAILED', errorMessage(e), { cause: e });
      failedHere.set(key, err);
      if (isPermanent(err.code)) {
        const record: Unrestorable = {
          code: err.code,
          key,
          box: { name: box.name, sha256: box.sha256 },
          qemu,
          memory: shape.memory,
          cpus: shape.cpus,
          nics: shape.nics,
          accel: shape.accel,
          reason: err.message,
          decidedAt: new Date().toISOString(),
        };
        mkdirSync(p.dir, { recursive: true });
        writeJsonAtomic(p.unrestorable, record);
      }
      throw err;
    }
  });
}

/** No state can be made for this key: decided before (recorded with the box), or earlier in this run. */
function throwIfDecided(p: StatePaths, key: string): void {
  const recorded = readJson<Unrestorable>(p.unrestorable);
  if (recorded !== undefined)
    throw new BoxfestError(
      recorded.code !== undefined && isPermanent(recorded.code) ? recorded.code : 'INSTANT_NO_RESEED',
      `${recorded.reason} (found out ${recorded.decidedAt})`,
      {
        hint: 'machines of this box boot normally; `boxfest box list` shows the record',
      },
    );
  const here = failedHere.get(key);
  if (here !== undefined) throw here;
}

/** The shapes of a box for which no state can be made, and why, for `box list`. */
export function listUnrestorable(home: string, box: Box): Unrestorable[] {
  const dir = statesDir(home, box.name, box.version);
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((key) => {
    const u = readJson<Unrestorable>(instantStatePaths(home, box.name, box.version, key).unrestorable);
    return u === undefined || u.box.sha256 !== box.sha256 ? [] : [u];
  });
}

type StatePaths = ReturnType<typeof instantStatePaths>;

async function saveState(
  home: string,
  box: Box,
  shape: Shape,
  qemu: string,
  key: string,
  p: StatePaths,
  restrictNat: boolean,
): Promise<InstantMeta> {
  rmSync(p.dir, { recursive: true, force: true });
  mkdirSync(p.work, { recursive: true });
  const partialDisk = `${p.disk}.partial`;
  await createOverlay(box.image, partialDisk);
  const macs = [0, ...Array.from({ length: shape.nics }, (_, i) => i + 1)].map((n) =>
    macFor(`golden:${key}`, 'golden', n),
  );
  const partialRam = `${p.ram}.partial`;
  const files = { disk: partialDisk, pid: p.pid, qmp: p.qmp, serialLog: p.serialLog };
  try {
    // Its SSH port comes from the host-wide port service like every machine's, held by the golden QEMU.
    const { ssh: sshPort } = await withBootPorts(
      home,
      {
        project: p.dir,
        machine: 'golden',
        ssh: true,
        forwards: [],
        successor: { pidFile: p.pid, mark: diskMark(partialDisk) },
      },
      async (ports) => {
        const args = goldenArgs(shape, box, files, macs, {
          sshPort: ports.ssh,
          restrictNat,
          ram: partialRam,
        });
        await runTool(QEMU_SYSTEM, args, 'boot the VM whose ready state is saved', { timeoutMs: 60_000 });
        return readPidFile(p.pid);
      },
    );
    const ssh = await waitForSsh(
      {
        host: '127.0.0.1',
        port: sshPort,
        user: box.sshUser,
        keys: box.insecureKey === undefined ? [] : [readFileSync(box.insecureKey, 'utf8')],
        hostKey: undefined,
      },
      { machine: 'golden', timeoutMs: 120_000 },
    );
    // What a restore needs from the guest, asked now: a box lacking it boots normally instead of
    // failing after a restore.
    let reseed: Reseed | undefined;
    let sshd: ReturnType<typeof parseSshdProbe>;
    try {
      // The sbin directories too: a non-root SSH user's PATH lacks them, sudo's has them.
      const probe = await exec(
        ssh.client,
        'PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin; command -v rndreseed || command -v perl',
      );
      reseed = /rndreseed/.test(probe.stdout) ? 'rndreseed' : /perl/.test(probe.stdout) ? 'perl' : undefined;
      sshd = parseSshdProbe((await exec(ssh.client, asRoot(box.sshUser, PROBE_SSHD_SCRIPT))).stdout);
      await exec(ssh.client, 'sync');
    } finally {
      ssh.client.end();
    }
    if (reseed === undefined)
      throw new BoxfestError(
        'INSTANT_NO_RESEED',
        'the box has no way to give a restored machine fresh randomness (needs perl or rndreseed in the guest)',
        { hint: 'machines of this box boot normally; add perl to the box to use `instant`' },
      );
    if (typeof sshd !== 'string')
      throw new BoxfestError(
        'INSTANT_NO_SSHD',
        `a restored machine could not get its own SSH host key: ${sshd.unsupported}`,
        {
          hint: 'machines of this box boot normally',
        },
      );
    // Let the guest settle (the login's own writes), then pause it and write its state.
    await sleep(200);
    await qmpExecute(p.qmp, 'stop');
    const partialState = `${p.vmState}.partial`;
    // The RAM is in its file already (shared): only the devices go into the state.
    await qmpExecute(p.qmp, 'migrate-set-capabilities', IGNORE_SHARED);
    await qmpExecute(p.qmp, 'migrate', { uri: `exec:cat > '${partialState.replaceAll("'", "'\\''")}'` });
    await waitMigration(p.qmp);
    await quit(p.qmp, p.pid);
    chmodSync(partialDisk, 0o444);
    // The RAM file keeps its mode: a restore's QEMU opens it for writing though it maps it
    // privately (QEMU 7.2 maps a file opened read-only read-only, which a guest cannot run on).
    renameSync(partialDisk, p.disk);
    renameSync(partialState, p.vmState);
    renameSync(partialRam, p.ram);
    const ram = statSync(p.ram);
    const meta: InstantMeta = {
      key,
      box: { name: box.name, sha256: box.sha256 },
      qemu,
      ...shape,
      macs,
      hostKey: ssh.hostKey,
      reseed,
      sshd,
      stateBytes: statSync(p.vmState).size,
      ramFile: { bytes: ram.size, ctimeMs: ram.ctimeMs },
      createdAt: new Date().toISOString(),
    };
    writeJsonAtomic(p.meta, meta);
    rmSync(p.work, { recursive: true, force: true });
    return meta;
  } catch (e) {
    await quit(p.qmp, p.pid);
    rmSync(p.dir, { recursive: true, force: true });
    throw e;
  }
}

async function waitMigration(qmp: string): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    const r = (await qmpExecute(qmp, 'query-migrate')) as { status?: string; 'error-desc'?: string };
    if (r.status === 'completed') return;
    if (r.status === 'failed' || r.status === 'cancelled')
      throw new BoxfestError(
        'INSTANT_SAVE_FAILED',
        `QEMU could not save the VM state: ${r['error-desc'] ?? r.status}`,
        {
          hint: 'machines boot normally; `boxfest box list` shows saved states',
        },
      );
    await sleep(20);
  }
  throw new BoxfestError('INSTANT_SAVE_FAILED', 'saving the VM state took more than 2 minutes', {
    hint: 'is the disk full?',
  });
}

async function quit(qmp: string, pidFile: string): Promise<void> {
  const pid = readPidFile(pidFile);
  await qmpExecute(qmp, 'quit', undefined, 2_000).catch(() => undefined);
  if (pid === undefined) return;
  if (!(await waitUntil(() => !isAlive(pid), 3_000))) {
    process.kill(pid, 'SIGKILL');
    await waitUntil(() => !isAlive(pid), 3_000);
  }
}

/** The golden VM: the same device set every restore will have, NICs plugged into nothing. */
function goldenArgs(
  shape: Shape,
  box: Box,
  files: LaunchFiles,
  macs: string[],
  o: { sshPort: number; restrictNat: boolean; ram: string },
): string[] {
  const nics: LaunchNic[] = macs.slice(1).map((mac, i) => ({ index: i + 1, kind: 'detached', mac }));
  return qemuArgs({
    // Every MAC is given: the project only names the default ones.
    project: '',
    spec: {
      name: `golden-${box.name}`,
      memory: shape.memory,
      cpus: shape.cpus,
      sshGuestPort: 22,
      qemu: { extraArgs: shape.extraArgs },
    },
    paths: files,
    diskInterface: 'virtio',
    accel: shape.accel,
    sshPort: o.sshPort,
    restrictNat: o.restrictNat,
    nics,
    natMac: macs[0]!,
    ramFile: { path: o.ram, share: true },
  });
}

const IGNORE_SHARED = { capabilities: [{ capability: 'x-ignore-shared', state: true }] };

/**
 * Why the state's RAM file cannot be mapped by a restore (gone, or changed since it was saved:
 * every restore would see other memory than the saved devices expect), or undefined when it can.
 */
export function ramFileProblem(p: Pick<StatePaths, 'ram'>, meta: InstantMeta): string | undefined {
  if (meta.ramFile === undefined) return undefined;
  if (!existsSync(p.ram)) return `its RAM file ${p.ram} is gone`;
  const now = statSync(p.ram);
  if (now.size !== meta.ramFile.bytes || now.ctimeMs !== meta.ramFile.ctimeMs)
    return `its RAM file ${p.ram} changed after it was saved`;
  return undefined;
}

/**
 * After `qemuArgs(..., incoming: true)` started the machine's QEMU paused (on the state's RAM
 * file, when it has one): loads the state and continues. Throws (leaving the process to the
 * caller to end) when the state does not load.
 */
export async function loadState(
  qmp: string,
  pidFile: string,
  vmState: string,
  ramFile: boolean,
): Promise<void> {
  if (ramFile) await qmpExecute(qmp, 'migrate-set-capabilities', IGNORE_SHARED);
  await qmpExecute(qmp, 'migrate-incoming', { uri: `exec:cat '${vmState.replaceAll("'", "'\\''")}'` });
  const deadline = Date.now() + 60_000;
  for (;;) {
    const pid = readPidFile(pidFile);
    if (pid === undefined || !isAlive(pid))
      throw new BoxfestError('INSTANT_RESTORE_FAILED', 'QEMU could not load the saved state (it exited)');
    let status: string | undefined;
    try {
      status = ((await qmpExecute(qmp, 'query-status', undefined, 2_000)) as { status?: string }).status;
    } catch (e) {
      throw new BoxfestError(
        'INSTANT_RESTORE_FAILED',
        `QEMU could not load the saved state: ${errorMessage(e)}`,
      );
    }
    if (status === 'paused' || status === 'postmigrate' || status === 'running') break;
    if (status !== 'inmigrate' && status !== 'prelaunch')
      throw new BoxfestError(
        'INSTANT_RESTORE_FAILED',
        `QEMU could not load the saved state (status ${status})`,
      );
    if (Date.now() > deadline)
      throw new BoxfestError('INSTANT_RESTORE_FAILED', 'loading the saved state took over 60 s');
    await sleep(10);
  }
  await qmpExecute(qmp, 'cont');
}

export interface StateInfo extends InstantMeta {
  /** Usable for new machines: written by this QEMU for this box content. */
  valid: boolean;
  /** Bytes on disk: golden overlay plus VM state. */
  bytes: number;
}

const sizeOf = (f: string) => (existsSync(f) ? statSync(f).size : 0);
/** A RAM file is sparse: the pages the golden guest never touched take no space. */
const allocatedOf = (f: string) => (existsSync(f) ? statSync(f).blocks * 512 : 0);

/** The saved states of a box, for `box list`. */
export async function listStates(home: string, box: Box): Promise<StateInfo[]> {
  const dir = statesDir(home, box.name, box.version);
  if (!existsSync(dir)) return [];
  const qemu = await qemuVersion().catch(() => 'unknown');
  return readdirSync(dir).flatMap((key) => {
    const p = instantStatePaths(home, box.name, box.version, key);
    const meta = readJson<InstantMeta>(p.meta);
    if (meta === undefined) return [];
    return [
      {
        ...meta,
        valid: meta.qemu === qemu && meta.box.sha256 === box.sha256 && existsSync(p.vmState),
        bytes: sizeOf(p.disk) + sizeOf(p.vmState) + allocatedOf(p.ram),
      },
    ];
  });
}

/**
 * Drops the VM state of saved states this QEMU cannot load (another QEMU version wrote them):
 * they would never be used again. Their golden disks stay while machines may be backed by them.
 */
export async function pruneStaleStates(home: string, box: Box): Promise<void> {
  for (const s of await listStates(home, box))
    if (!s.valid) {
      const p = instantStatePaths(home, box.name, box.version, s.key);
      for (const f of [p.vmState, p.ram]) rmSync(f, { force: true });
    }
}
