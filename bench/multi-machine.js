#!/usr/bin/env node
// Parallel bring-up: cold `up` of 3 machines on one private network against 1 machine, medians
// over N rounds, as a ratio (goal ≤ 1.6× under TCG on 2 cores: the machines' pipelines overlap,
// the switch and the box import happen once). Also the Vagrant + vagrant-libvirt figure for 3
// machines measured on this kind of machine (41 s, ../shared/docs/qemu.md).
// Then the host's floor: bare QEMU boots of the same box, 1, 2 and 3 at once (bare-qemu.js).
// Not a test: it prints, it does not assert. Usage: npm run bench:multi [-- ROUNDS]
import { bareBoot } from './bare-qemu.js';
import { benchProject, median } from './project.js';

const ROUNDS = Number(process.argv[2] ?? 3);
const VAGRANT_3_S = 41;

const machine = (name, ip) => `  ${name}:\n    networks: [{ network: backend, ip: ${ip} }]\n`;
const boxfile = (names) =>
  'version: 1\ndefaults: { box: tiny, memory: 256 }\n' +
  'networks:\n  backend: { type: private, cidr: 192.168.56.0/24 }\n' +
  'machines:\n' +
  names.map((n, i) => machine(n, `192.168.56.${10 + i}`)).join('');

function coldUps(names) {
  const p = benchProject({ 'Boxfile.yaml': boxfile(names) });
  const xs = [];
  try {
    p.addTinyBox();
    for (let i = 0; i < ROUNDS; i++) {
      xs.push(p.boxfest('up') / 1000);
      p.boxfest('destroy', '--force');
    }
  } finally {
    p.cleanup();
  }
  return xs;
}

const bare = { 1: [], 2: [], 3: [] };
const one = coldUps(['web']);
const three = coldUps(['web', 'db', 'cache']);
const m1 = median(one);
const m3 = median(three);
const fmt = (xs) => xs.map((x) => x.toFixed(2)).join(', ');
console.log(`cold up on one private network, tiny box, ${ROUNDS} round(s); medians:`);
console.log(`1 machine    ${m1.toFixed(2)} s   (${fmt(one)})`);
console.log(`3 machines   ${m3.toFixed(2)} s   (${fmt(three)})`);
console.log(`ratio 3/1    ${(m3 / m1).toFixed(2)}×   (goal ≤ 1.6×)`);
for (let i = 0; i < ROUNDS; i++) for (const n of [1, 2, 3]) bare[n].push(await bareBoot(n));
const [b1, b2, b3] = [1, 2, 3].map((n) => median(bare[n]));
console.log(`the host's floor, bare QEMU boots of the same box (no boxfest), medians:`);
console.log(`1 guest ${b1.toFixed(2)} s, 2 at once ${b2.toFixed(2)} s, 3 at once ${b3.toFixed(2)} s`);
console.log(
  `ratio 2/1 ${(b2 / b1).toFixed(2)}× (1.0× on independent cores), 3/1 ${(b3 / b1).toFixed(2)}× (1.5× on independent cores)`,
);
console.log(`vs vagrant-libvirt, 3 machines: ${(m3 / VAGRANT_3_S).toFixed(2)}× of its ${VAGRANT_3_S} s`);
