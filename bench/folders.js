#!/usr/bin/env node
// Synced folder types on one tiny guest (Debian's generic kernel: 9p and virtiofs both), the
// same 10,000-file host tree, a git repository committed on the host, shared three ways: 9p,
// virtiofs, and rsync'd to the guest's own disk (its .git too). Per type: sequential write and
// read (64 MiB, dd, guest page cache dropped before the read), a walk that lstat()s every file
// (`ls -lR`), and a real `git status` of the tree. The tiny box has no git, and giving it one would
// change the box every test boots: the host's own git binary and the libraries `ldd` names are
// rsync'd to the guest and run through the copied dynamic loader (a glibc binary on a busybox
// guest). Each figure is the median of ROUNDS runs, timed on the host around one SSH command, less
// the median of an empty command. Not a test: it prints, it does not assert.
// Usage: npm run bench:folders [-- ROUNDS]   (needs git on the host: scripts/install-deps.sh)
import { execFileSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { benchProject, median } from './project.js';

const ROUNDS = Number(process.argv[2] ?? 3);
const TREE = 10_000;
const MIB = 64;
const TYPES = [
  { name: 'local disk (rsync)', dest: '/srv/local', type: 'rsync' },
  { name: 'virtiofs', dest: '/srv/vfs', type: 'virtiofs' },
  { name: '9p', dest: '/srv/9p', type: '9p' },
];

// Where the host's git and its libraries land in the guest (an rsync'd folder of their own).
const GIT_DIR = '/opt/hostgit';

/** The host's git, or a clear error: the bench needs it for the trees and for the guest. */
function hostGit() {
  try {
    return execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();
  } catch {
    console.error(
      'bench:folders needs git on the host: run `bash scripts/install-deps.sh` (or apt-get install git)',
    );
    process.exit(1);
  }
}
const GIT = hostGit();

const files = {
  'Boxfile.yaml':
    'version: 1\nmachines:\n  web:\n    box: tiny\n    memory: 512\n    qemu: { disk_interface: virtio }\n' +
    '    synced_folders:\n' +
    TYPES.map(
      (t) =>
        `      - { type: ${t.type}, src: ./${t.type}, dest: ${t.dest}` +
        // rsync leaves .git out unless told; git status needs it
        `${t.type === 'rsync' ? ", exclude: ['!.git/']" : ''} }\n`,
    ).join('') +
    `      - { type: rsync, src: ./hostgit, dest: ${GIT_DIR} }\n`,
};
for (const t of TYPES)
  for (let d = 0; d < TREE / 100; d++)
    for (let f = 0; f < 100; f++) files[`${t.type}/tree/d${d}/f${f}.txt`] = `${d}/${f}\n`;

const { project, boxfest, addTinyBox, cleanup } = benchProject(files, { kernel: 'generic' });
const sshConfig = join(project, '.boxfest/machines/web/ssh_config');

/**
 * Each tree a repository with one commit, made by the host's git (a fixed identity: no user config
 * needed; no automatic gc: the commit of 10,000 loose objects would start one in the background,
 * and the explicit one would fail on its lock), and git with its libraries in ./hostgit. Returns
 * the dynamic loader's file name.
 */
function prepareGit() {
  for (const t of TYPES) {
    const git = (...args) =>
      execFileSync(
        GIT,
        ['-c', 'user.name=bench', '-c', 'user.email=bench@localhost', '-c', 'gc.auto=0', ...args],
        { cwd: join(project, t.type, 'tree'), stdio: ['ignore', 'ignore', 'pipe'] },
      );
    git('init', '-q');
    git('add', '-A');
    git('commit', '-q', '-m', 'tree');
    // Packed, as a clone is: 10,000 loose objects would double the files every walk and rsync sees.
    git('gc', '-q');
  }

  // git and what its dynamic loader would load (`ldd`: NAME => PATH, and the loader's own path),
  // each copied under the name the binary asks for.
  mkdirSync(join(project, 'hostgit'));
  copyFileSync(GIT, join(project, 'hostgit', 'git'));
  let loader = '';
  for (const line of execFileSync('ldd', [GIT], { encoding: 'utf8' }).split('\n')) {
    const lib = /^\s*(\S+) => (\/\S+)/.exec(line);
    const ld = /^\s*(\/\S*ld-linux\S*)/.exec(line);
    if (lib) copyFileSync(lib[2], join(project, 'hostgit', lib[1]));
    else if (ld) copyFileSync(ld[1], join(project, 'hostgit', (loader = basename(ld[1]))));
  }
  if (loader === '')
    throw new Error(`ldd ${GIT} named no dynamic loader: the bench cannot carry git into the guest`);
  return loader;
}

let loader = '';
// The guest's user (root) does not own every tree (rsync'd: the SSH user; shared: the host's), so
// git's ownership check is lifted for this command only.
const gitIn = (tree, ...args) =>
  `${GIT_DIR}/${loader} --library-path ${GIT_DIR} ${GIT_DIR}/git -c safe.directory='*' -C ${tree} ${args.join(' ')}`;

/** Milliseconds one guest command takes, run as root over OpenSSH with the machine's config. */
function timed(alias, command) {
  const t0 = performance.now();
  execFileSync('ssh', ['-F', sshConfig, alias, command], { stdio: ['ignore', 'ignore', 'pipe'] });
  return performance.now() - t0;
}

/** What one guest command prints. */
const guest = (alias, command) =>
  execFileSync('ssh', ['-F', sshConfig, alias, command], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });

const load0 = loadavg()[0];
try {
  loader = prepareGit();
  addTinyBox({ diskInterface: 'virtio' });
  const upMs = boxfest('up');
  console.log(`up with three ${TREE}-file git trees (9p, virtiofs, rsync): ${(upMs / 1000).toFixed(1)} s`);
  const alias = /^Host "?([^"\s]+)/m.exec(readFileSync(sshConfig, 'utf8'))[1];
  console.log(`git in the guest: ${guest(alias, gitIn('/', '--version')).trim()} (the host's, ${GIT})`);
  const empty = median(Array.from({ length: 5 }, () => timed(alias, 'true')));
  const rows = [];
  for (const t of TYPES) {
    const file = `${t.dest}/bench.bin`;
    const tree = `${t.dest}/tree`;
    // The first status in the guest hashes every file whose stat data differ from what the host's
    // git put in the index (an rsync'd copy: other inodes and times; 9p: its own view), to learn the
    // content did not change, and writes the refreshed index: the timed ones then do what a
    // developer's repeated status does. It must find the tree clean.
    const t0 = performance.now();
    const dirty = guest(alias, `echo 3 > /proc/sys/vm/drop_caches; ${gitIn(tree, 'status', '--porcelain')}`);
    const first = performance.now() - t0 - empty;
    const tracked = guest(alias, `${gitIn(tree, 'ls-files')} | wc -l`).trim();
    if (dirty !== '' || tracked !== String(TREE))
      throw new Error(
        `git status of ${tree} in the guest: expected a clean tree of ${TREE} files, got ${tracked} files and:\n${dirty}`,
      );
    const write = [];
    const read = [];
    const walk = [];
    const status = [];
    for (let i = 0; i < ROUNDS; i++) {
      write.push(
        timed(alias, `rm -f ${file}; dd if=/dev/zero of=${file} bs=1M count=${MIB} 2>/dev/null && sync`) -
          empty,
      );
      read.push(
        timed(
          alias,
          `sync; echo 3 > /proc/sys/vm/drop_caches; dd if=${file} of=/dev/null bs=1M 2>/dev/null`,
        ) - empty,
      );
      walk.push(timed(alias, `echo 3 > /proc/sys/vm/drop_caches; ls -lR ${tree} > /dev/null`) - empty);
      status.push(
        timed(
          alias,
          `echo 3 > /proc/sys/vm/drop_caches; ${gitIn(tree, 'status', '--porcelain')} > /dev/null`,
        ) - empty,
      );
    }
    timed(alias, `rm -f ${file}`);
    rows.push({
      name: t.name,
      write: median(write),
      read: median(read),
      walk: median(walk),
      status: median(status),
      first,
    });
  }
  const local = rows[0];
  const mibs = (ms) => ((MIB * 1000) / ms).toFixed(1);
  console.log(
    `\nmedians of ${ROUNDS} rounds (SSH round trip of ${empty.toFixed(0)} ms subtracted); ratio = time / local disk's`,
  );
  const secs = (ms, base) => `${(ms / 1000).toFixed(2).padStart(6)} s (${(ms / base).toFixed(2)}x)`;
  console.log(
    'type                 write MiB/s (ratio)   read MiB/s (ratio)    ls -lR (ratio)        git status (ratio)    first git status (ratio)',
  );
  for (const r of rows)
    console.log(
      `${r.name.padEnd(20)} ${mibs(r.write).padStart(7)} (${(r.write / local.write).toFixed(2)}x)` +
        `      ${mibs(r.read).padStart(7)} (${(r.read / local.read).toFixed(2)}x)` +
        `      ${secs(r.walk, local.walk)}` +
        `      ${secs(r.status, local.status)}` +
        `      ${secs(r.first, local.first)}`,
    );
  console.log(
    `\nls -lR: lstat of every file of the ${TREE}-file tree; git status: \`git status --porcelain\` of it, a`,
  );
  console.log(
    "real one (the host's git, run in the guest), page cache dropped before each; first git status: once,",
  );
  console.log(
    "before the rounds: it hashes every file whose stat data differ from the host's index, and rewrites it",
  );
  console.log(`host load average: ${load0.toFixed(2)} at start, ${loadavg()[0].toFixed(2)} at end`);
} finally {
  cleanup();
}
