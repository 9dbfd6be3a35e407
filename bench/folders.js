#!/usr/bin/env node
// Synced folder types on one tiny guest (Debian's generic kernel: 9p and virtiofs both), the
// same 10,000-file host tree shared three ways: 9p, virtiofs, and rsync'd to the guest's own
// disk. Per type: sequential write and read (64 MiB, dd, guest page cache dropped before the
// read), and a walk that lstat()s every file of the tree (`ls -lR`), the part of `git status`
// that a shared folder slows down -- the test boxes have no git, so this is the stand-in, said
// so in the output. Each figure is the median of ROUNDS runs, timed on the host around one
// SSH command, less the median of an empty command. Not a test: it prints, it does not assert.
// Usage: npm run bench:folders [-- ROUNDS]
import { execFileSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { benchProject, median } from './project.js';

const ROUNDS = Number(process.argv[2] ?? 3);
const TREE = 10_000;
const MIB = 64;
const TYPES = [
  { name: 'local disk (rsync)', dest: '/srv/local', type: 'rsync' },
  { name: 'virtiofs', dest: '/srv/vfs', type: 'virtiofs' },
  { name: '9p', dest: '/srv/9p', type: '9p' },
];

const files = {
  'Boxfile.yaml':
    'version: 1\nmachines:\n  web:\n    box: tiny\n    memory: 512\n    qemu: { disk_interface: virtio }\n' +
    '    synced_folders:\n' +
    TYPES.map((t) => `      - { type: ${t.type}, src: ./${t.type}, dest: ${t.dest} }\n`).join(''),
};
for (const t of TYPES)
  for (let d = 0; d < TREE / 100; d++)
    for (let f = 0; f < 100; f++) files[`${t.type}/tree/d${d}/f${f}.txt`] = `${d}/${f}\n`;

const { project, boxfest, addTinyBox, cleanup } = benchProject(files, { kernel: 'generic' });
const sshConfig = join(project, '.boxfest/machines/web/ssh_config');

/** Milliseconds one guest command takes, run as root over OpenSSH with the machine's config. */
function timed(alias, command) {
  const t0 = performance.now();
  execFileSync('ssh', ['-F', sshConfig, alias, command], { stdio: ['ignore', 'ignore', 'pipe'] });
  return performance.now() - t0;
}

const load0 = loadavg()[0];
try {
  addTinyBox({ diskInterface: 'virtio' });
  const upMs = boxfest('up');
  console.log(`up with three ${TREE}-file trees (9p, virtiofs, rsync): ${(upMs / 1000).toFixed(1)} s`);
  const alias = /^Host "?([^"\s]+)/m.exec(readFileSync(sshConfig, 'utf8'))[1];
  const empty = median(Array.from({ length: 5 }, () => timed(alias, 'true')));
  const rows = [];
  for (const t of TYPES) {
    const file = `${t.dest}/bench.bin`;
    const write = [];
    const read = [];
    const walk = [];
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
      walk.push(timed(alias, `echo 3 > /proc/sys/vm/drop_caches; ls -lR ${t.dest}/tree > /dev/null`) - empty);
    }
    timed(alias, `rm -f ${file}`);
    rows.push({ name: t.name, write: median(write), read: median(read), walk: median(walk) });
  }
  const local = rows[0];
  const mibs = (ms) => ((MIB * 1000) / ms).toFixed(1);
  console.log(
    `\nmedians of ${ROUNDS} rounds (SSH round trip of ${empty.toFixed(0)} ms subtracted); ratio = time / local disk's`,
  );
  console.log(
    'type                 write MiB/s (ratio)   read MiB/s (ratio)    lstat walk of 10,000 files (ratio)',
  );
  for (const r of rows)
    console.log(
      `${r.name.padEnd(20)} ${mibs(r.write).padStart(7)} (${(r.write / local.write).toFixed(2)}x)` +
        `      ${mibs(r.read).padStart(7)} (${(r.read / local.read).toFixed(2)}x)` +
        `      ${(r.walk / 1000).toFixed(2).padStart(6)} s (${(r.walk / local.walk).toFixed(2)}x)`,
    );
  console.log(
    '\nthe walk is `ls -lR` (lstat of every file, as git status does first): the test boxes have no git',
  );
  console.log(`host load average: ${load0.toFixed(2)} at start, ${loadavg()[0].toFixed(2)} at end`);
} finally {
  cleanup();
}
