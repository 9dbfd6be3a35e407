#!/usr/bin/env node
// Lifecycle timings of one machine on the tiny box, medians over N rounds, with the ratio to the
// Vagrant + vagrant-libvirt figures measured on this kind of machine (../shared/docs/qemu.md).
// Not a test: it prints, it does not assert. Usage: npm run bench [-- ROUNDS]
import { benchProject, median } from './project.js';

const ROUNDS = Number(process.argv[2] ?? 3);
const VAGRANT_S = {
  'cold up': 12.1,
  'no-op up': 1.4,
  status: 1.0,
  halt: 3.4,
  'up (halted)': null,
  destroy: null,
};

const {
  boxfest: timed,
  addTinyBox,
  cleanup,
} = benchProject({
  'app/hello.txt': 'hello\n',
  'Boxfile.yaml':
    'version: 1\nmachines:\n  web:\n    box: tiny\n    memory: 256\n    synced_folders: [{ src: ./app, dest: /srv/app }]\n    provision: [{ shell: "true" }]\n',
});
const boxfest = (...args) => timed(...args) / 1000;

const samples = Object.fromEntries(Object.keys(VAGRANT_S).map((k) => [k, []]));
try {
  addTinyBox();
  for (let i = 0; i < ROUNDS; i++) {
    samples['cold up'].push(boxfest('up'));
    samples['no-op up'].push(boxfest('up'));
    samples.status.push(boxfest('status'));
    samples.halt.push(boxfest('halt'));
    samples['up (halted)'].push(boxfest('up'));
    samples.destroy.push(boxfest('destroy', '--force'));
  }
} finally {
  cleanup();
}

console.log(`boxfest lifecycle, 1 machine, tiny box, ${ROUNDS} round(s), accel from status; medians:`);
console.log('operation       boxfest   vagrant-libvirt   ratio');
for (const [op, xs] of Object.entries(samples)) {
  const m = median(xs);
  const v = VAGRANT_S[op];
  console.log(
    `${op.padEnd(14)}  ${m.toFixed(2).padStart(6)} s  ${v === null ? '        —' : `${v.toFixed(1).padStart(7)} s`}   ${v === null ? '—' : (m / v).toFixed(2) + '×'}`,
  );
}
