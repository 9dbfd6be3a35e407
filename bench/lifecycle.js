#!/usr/bin/env node
// Lifecycle timings of one machine on the tiny box, medians over N rounds, with the ratio to the
// Vagrant + vagrant-libvirt figures measured on this kind of machine (../shared/docs/qemu.md).
// Not a test: it prints, it does not assert. Usage: npm run bench [-- ROUNDS]
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');
const ROUNDS = Number(process.argv[2] ?? 3);
const VAGRANT_S = {
  'cold up': 12.1,
  'no-op up': 1.4,
  status: 1.0,
  halt: 3.4,
  'up (halted)': null,
  destroy: null,
};

const boxDir = join(ROOT, '.cache', 'tiny-box');
execFileSync('bash', [join(ROOT, 'test/fixtures/build-tiny-box.sh'), boxDir], { stdio: 'ignore' });
const base = mkdtempSync(join(tmpdir(), 'boxfest-bench-'));
const project = join(base, 'project');
mkdirSync(join(project, 'app'), { recursive: true });
writeFileSync(join(project, 'app', 'hello.txt'), 'hello\n');
writeFileSync(
  join(project, 'Boxfile.yaml'),
  'version: 1\nmachines:\n  web:\n    box: tiny\n    memory: 256\n    synced_folders: [{ src: ./app, dest: /srv/app }]\n    provision: [{ shell: "true" }]\n',
);
const env = { ...process.env, BOXFEST_HOME: join(base, 'home'), BOXFEST_QEMU_RESTRICT_NAT: '1' };

function boxfest(...args) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/boxfest.js'), ...args], {
    cwd: project,
    env,
    encoding: 'utf8',
  });
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`boxfest ${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}`);
  return s;
}

const samples = Object.fromEntries(Object.keys(VAGRANT_S).map((k) => [k, []]));
try {
  boxfest(
    'box',
    'add',
    'tiny',
    join(boxDir, 'box.qcow2'),
    '--ssh-key',
    join(boxDir, 'insecure_key'),
    '--disk-interface',
    'nvme',
  );
  for (let i = 0; i < ROUNDS; i++) {
    samples['cold up'].push(boxfest('up'));
    samples['no-op up'].push(boxfest('up'));
    samples.status.push(boxfest('status'));
    samples.halt.push(boxfest('halt'));
    samples['up (halted)'].push(boxfest('up'));
    samples.destroy.push(boxfest('destroy', '--force'));
  }
} finally {
  spawnSync(process.execPath, [join(ROOT, 'bin/boxfest.js'), 'destroy', '--force'], { cwd: project, env });
  rmSync(base, { recursive: true, force: true });
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`boxfest lifecycle, 1 machine, tiny box, ${ROUNDS} round(s), accel from status; medians:`);
console.log('operation       boxfest   vagrant-libvirt   ratio');
for (const [op, xs] of Object.entries(samples)) {
  const m = median(xs);
  const v = VAGRANT_S[op];
  console.log(
    `${op.padEnd(14)}  ${m.toFixed(2).padStart(6)} s  ${v === null ? '        —' : `${v.toFixed(1).padStart(7)} s`}   ${v === null ? '—' : (m / v).toFixed(2) + '×'}`,
  );
}
