#!/usr/bin/env node
// The libvirt provider beside the QEMU provider, in the same run on the same box (virtio) and the
// same Boxfile: 3 machines on one private network. Per provider and round: cold `up`, then no-op
// `up`s and `status`es of the running lab, then destroy. Prints medians and libvirt/QEMU ratios,
// and the targets of issue 15: no-op up ≤ 0.5 s and status ≤ 0.3 s for 3 machines on libvirt,
// cold up within 1.3× of QEMU's. Host load is printed before and after (a shared machine).
// Runs inside a private libvirtd's namespaces (scripts/in-libvirtd.sh starts and stops it; the
// QEMU provider runs there too, so both see the same host). Not a test: it prints, it asserts
// nothing. Usage: npm run bench:libvirt [-- ROUNDS [CALLS]]
import { loadavg } from 'node:os';
import { benchProject, median } from './project.js';

if (process.env['BOXFEST_TEST_LIBVIRTD_PID'] === undefined) {
  console.error('bench/libvirt.js runs through `npm run bench:libvirt` (a private libvirtd for the run)');
  process.exit(2);
}

const ROUNDS = Number(process.argv[2] ?? 3);
const CALLS = Number(process.argv[3] ?? 5);

const boxfile = (provider) =>
  `version: 1\nprovider: ${provider}\ndefaults: { box: tiny, memory: 256 }\n` +
  'networks:\n  backend: { type: private, cidr: 192.168.56.0/24 }\n' +
  'machines:\n' +
  ['web', 'db', 'cache']
    .map((n, i) => `  ${n}:\n    networks: [{ network: backend, ip: 192.168.56.${10 + i} }]\n`)
    .join('');

function measure(provider) {
  const p = benchProject({ 'Boxfile.yaml': boxfile(provider) });
  const r = { cold: [], noop: [], status: [] };
  try {
    p.addTinyBox({ diskInterface: 'virtio' });
    for (let i = 0; i < ROUNDS; i++) {
      r.cold.push(p.boxfest('up') / 1000);
      for (let j = 0; j < CALLS; j++) r.noop.push(p.boxfest('up') / 1000);
      for (let j = 0; j < CALLS; j++) r.status.push(p.boxfest('status') / 1000);
      p.boxfest('destroy', '--force');
    }
  } finally {
    p.cleanup();
  }
  return r;
}

const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
console.log(`host load (1/5/15 min) before: ${load()}`);
const qemu = measure('qemu');
const libvirt = measure('libvirt');
console.log(`host load (1/5/15 min) after:  ${load()}`);
console.log(
  `3 machines on one private network, tiny box (virtio), ${ROUNDS} round(s), ${CALLS} calls each; medians (min–max):`,
);
const fmt = (xs) =>
  `${median(xs).toFixed(2)} s (${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)})`;
const rows = [
  ['cold up', 'cold', 'within 1.3× of QEMU'],
  ['no-op up', 'noop', 'libvirt ≤ 0.5 s'],
  ['status', 'status', 'libvirt ≤ 0.3 s'],
];
for (const [label, key, goal] of rows) {
  const ratio = median(libvirt[key]) / median(qemu[key]);
  console.log(
    `${label.padEnd(9)} libvirt ${fmt(libvirt[key])}   qemu ${fmt(qemu[key])}   ratio ${ratio.toFixed(2)}×   (goal: ${goal})`,
  );
}
