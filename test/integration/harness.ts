// A temp project with its own BOXFEST_HOME, the real CLI, and a cleanup that leaves no VM behind
// even when a test failed (QEMU processes are ended by the PIDs in their pidfiles, never by name).
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { inject } from 'vitest';
import { machinePaths } from '../../src/state/paths.js';
import { shellQuote } from '../../src/util/quote.js';
import { cmdlineOf, isAlive, waitUntil } from '../../src/state/process.js';
import { machineQemuPid } from '../../src/providers/qemu/inspect.js';
import { qemuPaths } from '../../src/providers/qemu/paths.js';
import { runningSwitches } from '../../src/providers/qemu/switch.js';
import { virtiofsdPid } from '../../src/providers/qemu/virtiofs.js';
import { ownDaemonsEnv } from './daemon-env.js';
import type { Target } from './targets.js';

const BIN = resolve(import.meta.dirname, '../../bin/boxfest.js');

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export class TestProject {
  readonly base: string;
  readonly root: string;
  readonly home: string;
  /** The tiny box this project adds: Debian's cloud kernel, or with `kernel: 'generic'` its generic one (9p). */
  readonly boxDir: string;

  /** Extra environment for every boxfest this project runs (`home` also relocates BOXFEST_HOME). */
  private readonly env: Record<string, string>;
  /** The provider of a shared scenario (its cleanup ends what that provider leaves). */
  private readonly target: Target | undefined;

  /** `baseDir`: where the temp tree goes (VirtualBox tests: a directory the server sees too). */
  constructor(
    files: Record<string, string>,
    opts: {
      env?: Record<string, string>;
      home?: string;
      baseDir?: string;
      target?: Target;
      kernel?: 'cloud' | 'generic';
    } = {},
  ) {
    this.boxDir = opts.kernel === 'generic' ? inject('genericBoxDir') : inject('boxDir');
    this.base = mkdtempSync(join(opts.baseDir ?? tmpdir(), 'boxfest-it-'));
    this.root = join(this.base, 'project');
    this.home = opts.home ?? join(this.base, 'home');
    this.env = opts.env ?? {};
    this.target = opts.target;
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(this.root, path)), { recursive: true });
      writeFileSync(join(this.root, path), text);
    }
    mkdirSync(this.root, { recursive: true });
  }

  get boxImage(): string {
    return join(this.boxDir, 'box.qcow2');
  }

  get insecureKey(): string {
    return join(this.boxDir, 'insecure_key');
  }

  /** The stored image of a box: images are named by their content (boxes/store.ts). */
  storedImage(name = 'tiny', version = '0', provider = 'qemu'): string {
    const dir = join(this.home, 'boxes', name.replace('/', '+'), version, provider);
    const meta = JSON.parse(readFileSync(join(dir, 'metadata.json'), 'utf8')) as { imageFile?: string };
    return join(dir, meta.imageFile ?? 'box.qcow2');
  }

  /** A machine's files: boxfest's own, and its QEMU provider's (disk, pidfile, QMP, serial log). */
  machine(name: string) {
    const shared = machinePaths(this.root, name);
    return { ...shared, ...qemuPaths(shared.dir) };
  }

  run(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): Promise<RunResult> {
    return new Promise((resolvePromise, reject) => {
      const child = spawn(process.execPath, [BIN, ...args], {
        cwd: opts.cwd ?? this.root,
        env: {
          ...ownDaemonsEnv(process.env),
          BOXFEST_HOME: this.home,
          BOXFEST_QEMU_RESTRICT_NAT: '1',
          ...this.env,
          ...opts.env,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      child.on('error', reject);
      child.on('close', (code) => resolvePromise({ code: code ?? -1, stdout, stderr }));
    });
  }

  /** Runs boxfest with `input` on its stdin; its stdout as bytes (e.g. `ssh -c` passing binary data). */
  runBytes(args: string[], input: Buffer): Promise<{ code: number; stdout: Buffer; stderr: string }> {
    return new Promise((resolvePromise, reject) => {
      const child = spawn(process.execPath, [BIN, ...args], {
        cwd: this.root,
        env: {
          ...ownDaemonsEnv(process.env),
          BOXFEST_HOME: this.home,
          BOXFEST_QEMU_RESTRICT_NAT: '1',
          ...this.env,
        },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      const out: Buffer[] = [];
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => out.push(d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      child.on('error', reject);
      child.on('close', (code) => resolvePromise({ code: code ?? -1, stdout: Buffer.concat(out), stderr }));
      child.stdin.end(input);
    });
  }

  /**
   * Runs boxfest on a pseudo-terminal (util-linux `script`), typing `input`: what a person at a
   * terminal sees and answers. stdout and stderr arrive merged, as on a terminal.
   */
  runOnTerminal(args: string[], input: string): Promise<RunResult> {
    return new Promise((resolvePromise, reject) => {
      // A terminal has a size (`script`'s pty has none: listr2 would wrap at every character).
      const cmd = `stty cols 160 rows 50; ${[process.execPath, BIN, ...args].map(shellQuote).join(' ')}`;
      const child = spawn('script', ['-qec', cmd, '/dev/null'], {
        cwd: this.root,
        env: { ...ownDaemonsEnv(process.env), BOXFEST_HOME: this.home, BOXFEST_QEMU_RESTRICT_NAT: '1' },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let stdout = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        stdout += d;
        // Answer once the question is on the screen (readline may move the cursor after it).
        if (stdout.includes('[y/N] ') && input !== '') {
          child.stdin.write(input);
          input = '';
        }
      });
      const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
      child.on('error', reject);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolvePromise({ code: code ?? -1, stdout, stderr: '' });
      });
    });
  }

  /** Runs boxfest and fails with its whole output when the exit code is not the expected one. */
  async ok(args: string[], expectCode = 0): Promise<RunResult> {
    const r = await this.run(args);
    if (r.code !== expectCode)
      throw new Error(
        `boxfest ${args.join(' ')} exited ${r.code}, expected ${expectCode}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`,
      );
    return r;
  }

  /** Adds the tiny test box (NVMe disk, unless told) to the store as `name`; `extra`: more `box add` flags. */
  async addTinyBox(name = 'tiny', extra: string[] = [], diskInterface = 'nvme'): Promise<void> {
    await this.ok([
      'box',
      'add',
      name,
      this.boxImage,
      '--ssh-key',
      this.insecureKey,
      '--disk-interface',
      diskInterface,
      ...extra,
    ]);
  }

  /** PIDs of every QEMU this project started that still runs this project's disks. */
  qemuPids(): number[] {
    const dir = join(this.root, '.boxfest', 'machines');
    if (!existsSync(dir)) return [];
    return readdirSync(dir).flatMap((m) => {
      const pid = machineQemuPid(this.machine(m));
      return pid === undefined ? [] : [pid];
    });
  }

  /** PIDs of the virtiofsds of this project's machines (each found by its pidfile, checked). */
  virtiofsdPids(): number[] {
    const dir = join(this.root, '.boxfest', 'machines');
    if (!existsSync(dir)) return [];
    return readdirSync(dir).flatMap((m) =>
      [0, 1, 2, 3].flatMap((n) => virtiofsdPid(this.machine(m).dir, n) ?? []),
    );
  }

  /**
   * Every process on the host whose command line mentions this project's directory, whether a
   * pidfile knows it or not: what an orphan check must look at.
   */
  processesUsingProject(): number[] {
    return readdirSync('/proc')
      .filter((d) => /^\d+$/.test(d))
      .map(Number)
      .filter(
        (pid) =>
          pid !== process.pid && isAlive(pid) && cmdlineOf(pid)?.some((a) => a.includes(this.root)) === true,
      );
  }

  serialLog(machine: string): string {
    try {
      return readFileSync(this.machine(machine).serialLog, 'utf8');
    } catch {
      return '';
    }
  }

  /** Destroy through the CLI, then end anything left by PID, then remove the temp tree. */
  async cleanup(): Promise<void> {
    if (existsSync(join(this.root, 'Boxfile.yaml')))
      await this.run(['destroy', '--force']).catch(() => undefined);
    for (const pid of [...this.qemuPids(), ...this.virtiofsdPids(), ...runningSwitches(this.root)]) {
      process.kill(pid, 'SIGKILL');
      await waitUntil(() => !isAlive(pid), 5_000);
    }
    this.target?.killAll(this);
    rmSync(this.base, { recursive: true, force: true });
  }
}

export function sha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}
