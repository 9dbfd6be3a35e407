#!/usr/bin/env node
// Instant up: `up` of 1 and 3 machines restored from a saved ready state against cold boots of
// the same machines, medians over N rounds, with ratios (goal: restored ≤ 1 s per machine and
// ≤ 0.3× cold). The state is saved once before the rounds (its cost is printed too). The box is
// attached as virtio (a saved state needs it); machines sit on one private network.
// Not a test: it prints, it does not assert. Usage: npm run bench:instant [-- ROUNDS]
import { spawn } from 'node:child_process';
import { BIN, benchProject, median } from './project.js';

/** Runs `up`; resolves with seconds until the last machine's SSH answered and until the end. */
function timedUp(p, machines) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [BIN, 'up'], { cwd: p.project, env: p.env });
    let ssh = 0;
    let seen = 0;
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d) => {
      out += d;
      const n = (d.match(/SSH ready/g) ?? []).length;
      if (n > 0) {
        seen += n;
        if (seen >= machines) ssh = (performance.now() - t0) / 1000;
      }
    });
    child.stderr.setEncoding('utf8').on('data', (d) => (out += d));
    child.on('close', (code) =>
      code === 0 ? resolve({ ssh, total: (performance.now() - t0) / 1000 }) : reject(new Error(out)),
    );
  });
}

const ROUNDS = Number(process.argv[2] ?? 3);

const boxfile = (names, instant) =>
  `version: 1\ndefaults: { box: tiny, memory: 256, instant: ${instant}, qemu: { disk_interface: virtio } }\n` +
  'networks:\n  backend: { type: private, cidr: 192.168.56.0/24 }\n' +
  'machines:\n' +
  names.map((n, i) => `  ${n}:\n    networks: [{ network: backend, ip: 192.168.56.${10 + i} }]\n`).join('');

async function ups(names, instant) {
  const p = benchProject({ 'Boxfile.yaml': boxfile(names, instant) });
  const ssh = [];
  const total = [];
  let first;
  try {
    p.addTinyBox({ diskInterface: 'virtio' });
    if (instant) {
      first = (await timedUp(p, names.length)).total; // saves the state (one extra boot), then restores
      p.boxfest('destroy', '--force');
    }
    for (let i = 0; i < ROUNDS; i++) {
      const r = await timedUp(p, names.length);
      ssh.push(r.ssh);
      total.push(r.total);
      p.boxfest('destroy', '--force');
    }
  } finally {
    p.cleanup();
  }
  return { ssh, total, first };
}

const fmt = (xs) => xs.map((x) => x.toFixed(2)).join(', ');
console.log(`boxfest up on one private network, tiny box (virtio), ${ROUNDS} round(s), medians;`);
console.log('"to SSH": from the command start until the last machine answered SSH; "up": the whole command');
for (const names of [['web'], ['web', 'db', 'cache']]) {
  const cold = await ups(names, false);
  const warm = await ups(names, true);
  const [cs, ws, ct, wt] = [cold.ssh, warm.ssh, cold.total, warm.total].map(median);
  console.log(`${names.length} machine(s):`);
  console.log(
    `  to SSH  restored ${ws.toFixed(2)} s (${fmt(warm.ssh)})  cold ${cs.toFixed(2)} s (${fmt(cold.ssh)})  ratio ${(ws / cs).toFixed(2)}×`,
  );
  console.log(
    `  up      restored ${wt.toFixed(2)} s (${fmt(warm.total)})  cold ${ct.toFixed(2)} s (${fmt(cold.total)})  ratio ${(wt / ct).toFixed(2)}×`,
  );
  console.log(`  first up of the shape, with the save: ${warm.first.toFixed(2)} s`);
}
