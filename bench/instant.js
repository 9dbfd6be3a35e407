#!/usr/bin/env node
// Instant up: `up` of 1 and 3 machines restored from a saved ready state against cold boots of
// the same machines, medians over N rounds, with ratios (goal: restored ≤ 1 s per machine and
// ≤ 0.3× cold). The state is saved once before the rounds (its cost is printed too). The box is
// attached as virtio (a saved state needs it); machines sit on one private network.
// Not a test: it prints, it does not assert. Usage: npm run bench:instant [-- ROUNDS]
import { benchProject, median } from './project.js';

const ROUNDS = Number(process.argv[2] ?? 3);

const boxfile = (names, instant) =>
  `version: 1\ndefaults: { box: tiny, memory: 256, instant: ${instant}, qemu: { disk_interface: virtio } }\n` +
  'networks:\n  backend: { type: private, cidr: 192.168.56.0/24 }\n' +
  'machines:\n' +
  names.map((n, i) => `  ${n}:\n    networks: [{ network: backend, ip: 192.168.56.${10 + i} }]\n`).join('');

function ups(names, instant) {
  const p = benchProject({ 'Boxfile.yaml': boxfile(names, instant) });
  const xs = [];
  let first;
  try {
    p.addTinyBox();
    if (instant) {
      first = p.boxfest('up') / 1000; // saves the state (one extra boot), then restores
      p.boxfest('destroy', '--force');
    }
    for (let i = 0; i < ROUNDS; i++) {
      xs.push(p.boxfest('up') / 1000);
      p.boxfest('destroy', '--force');
    }
  } finally {
    p.cleanup();
  }
  return { xs, first };
}

const fmt = (xs) => xs.map((x) => x.toFixed(2)).join(', ');
console.log(`up of machines on one private network, tiny box (virtio), ${ROUNDS} round(s); medians:`);
for (const names of [['web'], ['web', 'db', 'cache']]) {
  const cold = ups(names, false);
  const warm = ups(names, true);
  const c = median(cold.xs);
  const w = median(warm.xs);
  console.log(
    `${names.length} machine(s): restored ${w.toFixed(2)} s (${fmt(warm.xs)}), cold ${c.toFixed(2)} s (${fmt(cold.xs)}), ratio ${(w / c).toFixed(2)}×, first up with the save ${warm.first.toFixed(2)} s`,
  );
}
