// What every benchmark starts with: the tiny test box (built or cached), a temp project with its
// own BOXFEST_HOME, the real CLI timed per call, and a cleanup that destroys everything.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '..');
export const BIN = join(ROOT, 'bin/boxfest.js');

/** A copy-on-write qcow2 overlay at `disk` over the image `base`, as a bare QEMU run needs one. */
export function overlay(base, disk) {
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', base, disk]);
}

/**
 * `files` maps project-relative paths to contents; `Boxfile.yaml` among them. `kernel: 'generic'`
 * uses the tiny box built on Debian's generic kernel (9p as well as virtiofs).
 */
export function benchProject(files, { kernel = 'cloud' } = {}) {
  const boxDir = join(ROOT, '.cache', kernel === 'cloud' ? 'tiny-box' : `tiny-box-${kernel}`);
  execFileSync('bash', [join(ROOT, 'test/fixtures/build-tiny-box.sh'), boxDir], {
    stdio: 'ignore',
    env: { ...process.env, BOX_KERNEL: kernel },
  });
  const base = mkdtempSync(join(tmpdir(), 'boxfest-bench-'));
  const project = join(base, 'project');
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(project, path)), { recursive: true });
    writeFileSync(join(project, path), text);
  }
  const env = { ...process.env, BOXFEST_HOME: join(base, 'home'), BOXFEST_QEMU_RESTRICT_NAT: '1' };
  /** Runs the CLI in the project; returns milliseconds and its stdout; throws with its output on failure. */
  const run = (...args) => {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, [BIN, ...args], { cwd: project, env, encoding: 'utf8' });
    const ms = performance.now() - t0;
    if (r.status !== 0) throw new Error(`boxfest ${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}`);
    return { ms, stdout: r.stdout };
  };
  /** Runs the CLI in the project; returns milliseconds. */
  const boxfest = (...args) => run(...args).ms;
  return {
    project,
    env,
    run,
    boxfest,
    addTinyBox: ({ diskInterface = 'nvme' } = {}) =>
      boxfest(
        'box',
        'add',
        'tiny',
        join(boxDir, 'box.qcow2'),
        '--ssh-key',
        join(boxDir, 'insecure_key'),
        '--disk-interface',
        diskInterface,
      ),
    cleanup: () => {
      spawnSync(process.execPath, [BIN, 'destroy', '--force'], { cwd: project, env });
      rmSync(base, { recursive: true, force: true });
    },
  };
}

/** The p-th percentile (nearest rank) of xs. */
export const percentile = (xs, p) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))];
export const median = (xs) => percentile(xs, 50);

/** Seconds as the libvirt benches print them: the median, then (min–max). */
export const spread = (xs) =>
  `${median(xs).toFixed(2)} s (${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)})`;

/** The host's load averages (1/5/15 min): a shared machine's figures are read beside them. */
export const hostLoad = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');

/**
 * The libvirt benches' rounds on one project: per round a cold `up`, CALLS no-op `up`s and
 * `status`es of the running lab, then `destroy`; seconds per command. Cleans the project up.
 */
export function lifecycleRounds(p, rounds, calls) {
  const r = { cold: [], noop: [], status: [], destroy: [] };
  try {
    p.addTinyBox({ diskInterface: 'virtio' });
    for (let i = 0; i < rounds; i++) {
      r.cold.push(p.boxfest('up') / 1000);
      for (let j = 0; j < calls; j++) r.noop.push(p.boxfest('up') / 1000);
      for (let j = 0; j < calls; j++) r.status.push(p.boxfest('status') / 1000);
      r.destroy.push(p.boxfest('destroy', '--force') / 1000);
    }
  } finally {
    p.cleanup();
  }
  return r;
}
