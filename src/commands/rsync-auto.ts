// `boxfest rsync-auto`: sync once, then watch the `auto` folders and send only what changed, over
// one SSH connection per machine that stays open. The project lock is held for the first sync
// only: a watcher that runs all day must not stop `up`, `halt` or `provision` (it follows a
// guest that reboots instead).
import { watch, type FSWatcher } from 'chokidar';
import { relative, sep } from 'node:path';
import type { Environment, MachineSpec, SyncedFolder } from '../config/types.js';
import { BoxfestError, errorMessage } from '../errors.js';
import { closeSsh, newMachineRun } from '../pipeline/machine-run.js';
import { syncAll } from '../pipeline/steps/sync-folders.js';
import { waitSsh } from '../pipeline/steps/wait-ssh.js';
import type { SshTarget } from '../ssh/client.js';
import { hostAlias, machineTarget } from '../ssh/machine.js';
import { readMachineState, sshEndpointOf } from '../state/machine-state.js';
import { machinePaths } from '../state/paths.js';
import { sleep } from '../state/process.js';
import { folderOwner, excludesFor, type RsyncJob } from '../sync/rsync.js';
import {
  ChangeBatch,
  ConnectionLost,
  SshMaster,
  excludeMatcher,
  isConnectionFailure,
  syncPaths,
} from '../sync/watch.js';
import { SftpSession } from '../sync/sftp.js';
import { failIfAnyFailed, type CommandOptions } from './output.js';
import { observe, openProject, providerOf, withLock } from './project.js';
import { syncMachines } from './rsync.js';
import { rsyncFolders } from '../sync/shares.js';

/** Quiet time after the last change before a batch is sent: editors write in bursts. */
const DEBOUNCE_MS = 50;

// Live shares (virtiofs, 9p) need no watching: only rsync folders are copied.
const autoFolders = (spec: MachineSpec) => rsyncFolders(spec).filter((f) => f.auto);

export async function rsyncAuto(cwd: string, names: string[], o: CommandOptions): Promise<number> {
  const { env, home, selected } = openProject(cwd, names);
  const specs = selected.filter((s) => autoFolders(s).length > 0);
  if (specs.length === 0)
    throw new BoxfestError('NOTHING_TO_WATCH', 'no enabled synced folder with `auto: true` to watch', {
      hint: 'add `synced_folders` to a machine in the Boxfile (auto is on by default)',
    });
  const watched = specs.map((spec) => new AutoMachine(env, home, spec, o));
  try {
    // Watch first, so a change made during the first sync is not missed.
    await Promise.all(watched.map((m) => m.watch()));
    await withLock(env, 'rsync-auto', async () => {
      const { results } = await syncMachines(env, home, specs, o.json);
      failIfAnyFailed(results, o);
    });
    await Promise.all(watched.map((m) => m.connect()));
    const folders = watched.reduce((n, m) => n + m.folders.length, 0);
    o.note(`watching ${folders} folder(s) on ${watched.length} machine(s); Ctrl-C to stop`);
    let onSignal = () => undefined as void;
    const stopped = new Promise<void>((resolve) => (onSignal = resolve));
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    for (const m of watched) m.start();
    await stopped;
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    o.note('stopping');
  } finally {
    await Promise.all(watched.map((m) => m.close()));
  }
  return 0;
}

interface WatchedFolder {
  folder: SyncedFolder;
  job: RsyncJob;
  batch: ChangeBatch;
  excluded: (rel: string, isDir: boolean | undefined) => boolean;
  watcher?: FSWatcher;
}

class AutoMachine {
  readonly folders: WatchedFolder[];
  private readonly master: SshMaster;
  /** The fast path for bursts of plain files (see src/sync/sftp.ts). */
  private readonly sftp: SftpSession;
  /** The SSH user is root: SFTP can write wherever rsync could. */
  private root = false;
  /** The SSH user: owner of the synced files unless a folder says `chown`. */
  private user = 'root';
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private started = false;
  private stopping = false;

  constructor(
    private readonly env: Environment,
    private readonly home: string,
    private readonly spec: MachineSpec,
    private readonly o: CommandOptions,
  ) {
    const paths = machinePaths(env.root, spec.name);
    const alias = hostAlias(env, spec.name);
    this.master = new SshMaster(paths.sshConfig, alias);
    this.sftp = new SftpSession(() => this.target());
    this.folders = autoFolders(spec).map((f) => ({
      folder: f,
      batch: new ChangeBatch(),
      excluded: excludeMatcher(excludesFor(f.exclude)),
      job: {
        machine: spec.name,
        alias,
        sshConfig: paths.sshConfig,
        src: f.src,
        dest: f.dest,
        excludes: excludesFor(f.exclude),
        delete: f.delete,
        extraArgs: f.args,
      },
    }));
  }

  async watch(): Promise<void> {
    await Promise.all(
      this.folders.map(async (w) => {
        const excluded = w.excluded;
        const relOf = (path: string) => relative(w.folder.src, path).split(sep).join('/');
        const watcher = watch(w.folder.src, {
          ignoreInitial: true,
          // Whether a path exists is checked when the batch is sent, so an editor's
          // write-and-rename needs no extra delay here.
          atomic: false,
          ignored: (path, stats) => {
            const rel = relOf(path);
            return rel !== '' && !rel.startsWith('..') && excluded(rel, stats?.isDirectory());
          },
        });
        w.watcher = watcher;
        watcher.on('all', (event, path) => {
          const rel = relOf(path);
          if (rel === '' || rel.startsWith('..')) return;
          if (excluded(rel, event === 'addDir' || event === 'unlinkDir')) return;
          w.batch.add(rel);
          this.schedule();
        });
        watcher.on('error', (e) =>
          this.o.note(`${this.spec.name}: watching ${w.folder.src} failed: ${errorMessage(e)}`),
        );
        await new Promise<void>((resolve) => watcher.once('ready', () => resolve()));
      }),
    );
  }

  /** Opens the shared connection (after the first sync has written the machine's ssh_config). */
  async connect(): Promise<void> {
    const user = readMachineState(this.env.root, this.spec.name)?.sshUser ?? 'root';
    for (const w of this.folders) w.job.sudo = user !== 'root';
    this.root = user === 'root';
    this.user = user;
    await this.master.start();
    await this.openSftp();
  }

  /** The machine's ssh2 target: its key and pinned host key, on the port of its ssh_config. */
  private target(): SshTarget | undefined {
    const state = readMachineState(this.env.root, this.spec.name);
    const at = state === undefined ? undefined : sshEndpointOf(state);
    if (state?.hostKey === undefined || at === undefined) return undefined;
    return machineTarget(machinePaths(this.env.root, this.spec.name), state, at, undefined);
  }

  /** Without SFTP every burst still syncs, through rsync: a failure here is not fatal. */
  private async openSftp(): Promise<void> {
    if (!this.root || this.folders.every((w) => !this.sftpFits(w))) return;
    await this.sftp.open().catch((e: unknown) => {
      this.o.note(`${this.spec.name}: no SFTP session (${errorMessage(e)}); syncing with rsync only`);
    });
  }

  /** rsync options SFTP does not reproduce (`chown`, the folder's own `args`) keep it on rsync. */
  private sftpFits(w: WatchedFolder): boolean {
    return this.root && w.folder.chown === undefined && w.folder.args.length === 0;
  }

  /** Changes seen so far (during the first sync) are sent now; later ones after the debounce. */
  start(): void {
    this.started = true;
    this.schedule();
  }

  private schedule(): void {
    if (!this.started || this.stopping) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, DEBOUNCE_MS);
  }

  private flush(): void {
    if (this.running !== undefined) {
      this.again = true;
      return;
    }
    this.running = this.syncPending()
      .catch((e: unknown) => this.o.note(`${this.spec.name}: sync failed: ${errorMessage(e)}`))
      .finally(() => {
        this.running = undefined;
        if (this.again && !this.stopping) {
          this.again = false;
          this.flush();
        }
      });
  }

  private async syncPending(): Promise<void> {
    if (this.folders.every((w) => w.batch.size === 0)) return;
    const t0 = performance.now();
    let n = 0;
    let viaRsync = false;
    try {
      if (!this.master.alive) throw new ConnectionLost(this.spec.name, 'the shared SSH connection closed');
      for (const w of this.folders) {
        if (w.batch.size === 0) continue;
        const { send, gone } = w.batch.take(w.folder.src);
        if (this.sftpFits(w) && (await this.sftp.ensure())) {
          try {
            n += await this.sftp.push({
              src: w.folder.src,
              dest: w.folder.dest,
              send,
              gone,
              excluded: w.excluded,
              delete: w.folder.delete,
            });
            continue;
          } catch {
            // Something SFTP does not do (a symlink, a big file) or an SFTP failure: rsync redoes
            // the whole burst, and tells a lost connection from a file problem.
          }
        }
        try {
          viaRsync = true;
          n += await syncPaths(
            {
              job: w.job,
              delete: w.folder.delete,
              chown: folderOwner(w.folder.chown, this.user),
              master: this.master,
            },
            send,
            gone,
          );
        } catch (e) {
          if (isConnectionFailure(e)) throw e;
          this.report(e, w.folder);
        }
      }
    } catch (e) {
      if (!isConnectionFailure(e)) throw e;
      await this.reconnect(e);
      return;
    }
    if (n > 0) this.line(n, performance.now() - t0, false, viaRsync ? 'rsync' : 'sftp');
  }

  private line(changes: number, ms: number, full: boolean, via: 'sftp' | 'rsync'): void {
    const name = this.spec.name;
    if (this.o.json) this.o.print(JSON.stringify({ machine: name, changes, ms: Math.round(ms), full, via }));
    else
      this.o.print(
        full
          ? `${name}: reconnected, full sync in ${Math.round(ms)} ms`
          : `${name}: ${changes} change(s) synced in ${Math.round(ms)} ms`,
      );
  }

  private report(e: unknown, f: SyncedFolder): void {
    const be = e instanceof BoxfestError ? e : undefined;
    this.o.note(
      `${this.spec.name}: syncing ${f.src} -> ${f.dest} failed: ${errorMessage(e)}${be ? ` [${be.code}]` : ''}`,
    );
    if (be?.details !== undefined && be.details !== '') this.o.note(be.details.replace(/^/gm, '    '));
  }

  /**
   * The guest went away (reboot, halt and up, a dropped connection): wait until it runs and
   * answers SSH again, sync every folder once in full (changes made meanwhile are in it), and
   * reopen the shared connection.
   */
  private async reconnect(cause: unknown): Promise<void> {
    const name = this.spec.name;
    const why = (cause instanceof BoxfestError ? (cause.details ?? '') : '').split('\n')[0] ?? '';
    this.o.note(`${name}: connection lost${why === '' ? '' : ` (${why})`}; waiting for the machine`);
    await this.master.stop();
    this.sftp.close();
    let lastError = '';
    while (!this.stopping) {
      try {
        const observed = (await observe(this.env, [this.spec])).get(name);
        if (observed?.actual.state === 'running' && observed.actual.ssh !== undefined) {
          for (const w of this.folders) w.batch.take(w.folder.src);
          const t0 = performance.now();
          const run = newMachineRun(
            this.env,
            this.spec,
            providerOf(this.spec),
            this.home,
            observed.actual,
            'none',
          );
          run.endpoint = observed.actual.ssh;
          const quiet = { line: () => undefined, title: () => undefined };
          try {
            await waitSsh.run(run, quiet);
            await syncAll(run, () => undefined);
          } finally {
            closeSsh(run);
          }
          await this.master.start();
          await this.openSftp();
          this.line(0, performance.now() - t0, true, 'rsync');
          return;
        }
      } catch (e) {
        const msg = errorMessage(e);
        if (msg !== lastError) this.o.note(`${name}: still waiting: ${msg}`);
        lastError = msg;
      }
      await sleep(1_000);
    }
  }

  async close(): Promise<void> {
    this.stopping = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    await Promise.all(this.folders.map((w) => w.watcher?.close() ?? Promise.resolve()));
    await this.running?.catch(() => undefined);
    this.sftp.close();
    await this.master.dispose();
  }
}
