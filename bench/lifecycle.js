#!/usr/bin/env node
// Lifecycle timings of one machine on the tiny box, medians over N rounds.
// `overhead`: boxfest's `up` of one machine with no folders and no provisioners beside a bare
// boot-to-SSH of the same image in the same run (bare-ssh.js), alternating, and where boxfest's
// time goes, from its own `up --json` step_times (each step's start and end): before the first
// step (Node, config, lock, observe), each step, the gaps between steps, after the last (closing,
// exit). Goal (issue 19): up ≤ bare + 0.3 s.
// `lifecycle`: the whole cycle with a synced folder and a provisioner, with the ratio to the
// Vagrant + vagrant-libvirt figures measured on this kind of machine (../shared/docs/qemu.md).
// Not a test: it prints, it does not assert.
// Usage: npm run bench [-- ROUNDS [overhead,lifecycle]]
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { bareBootToSsh } from './bare-ssh.js';
import { BIN, benchProject, median } from './project.js';

const ROUNDS = Number(process.argv[2] ?? 3);
const PARTS = (process.argv[3] ?? 'overhead,lifecycle').split(',');
const load = () => readFileSync('/proc/loadavg', 'latin1').split(' ').slice(0, 3).join(' ');
const f2 = (x) => x.toFixed(2).padStart(6);

/** `up --json` of the project: wall seconds, and the step timeline against spawn and exit. */
function upJson(p) {
  return new Promise((resolve, reject) => {
    const spawned = Date.now();
    const child = spawn(process.execPath, [BIN, 'up', '--json'], { cwd: p.project, env: p.env });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (err += d));
    child.on('close', (code) => {
      const exited = Date.now();
      if (code !== 0) return reject(new Error(`boxfest up exited ${code}:\n${out}\n${err}`));
      const steps = Object.entries(JSON.parse(out)[0].step_times ?? {}).sort(
        (a, b) => a[1].start - b[1].start,
      );
      const parts = { 'before the first step': (steps[0][1].start - spawned) / 1000 };
      let gaps = 0;
      for (const [i, [name, t]] of steps.entries()) {
        parts[name] = (t.end - t.start) / 1000;
        if (i > 0) gaps += t.start - steps[i - 1][1].end;
      }
      parts['between steps'] = gaps / 1000;
      parts['after the last step'] = (exited - steps.at(-1)[1].end) / 1000;
      resolve({ s: (exited - spawned) / 1000, parts });
    });
  });
}

async function overhead() {
  const p = benchProject({
    'Boxfile.yaml': 'version: 1\nmachines:\n  web:\n    box: tiny\n    memory: 256\n',
  });
  const bare = [];
  const ups = [];
  const loads = [];
  try {
    // TCG for both: the bare boot is TCG (the bench compares like with like).
    p.env.BOXFEST_QEMU_ACCEL = 'tcg';
    p.addTinyBox();
    for (let i = 0; i < ROUNDS; i++) {
      loads.push(load());
      // Alternating which goes first, so neither always meets the other's leftovers.
      if (i % 2 === 0) bare.push(await bareBootToSsh());
      ups.push(await upJson(p));
      p.boxfest('destroy', '--force');
      if (i % 2 === 1) bare.push(await bareBootToSsh());
    }
  } finally {
    p.cleanup();
  }
  const b = median(bare.map((x) => x.ready));
  const u = median(ups.map((x) => x.s));
  console.log(
    `\noverhead: 1 machine, no folders, no provisioners, tiny box, TCG, ${ROUNDS} round(s); load ${loads.join(' | ')}`,
  );
  console.log(`bare boot to SSH banner ${f2(median(bare.map((x) => x.banner)))} s`);
  console.log(
    `bare boot to SSH login  ${f2(b)} s   (each: ${bare.map((x) => x.ready.toFixed(2)).join(' ')})`,
  );
  console.log(`boxfest up              ${f2(u)} s   (each: ${ups.map((x) => x.s.toFixed(2)).join(' ')})`);
  console.log(`up - bare               ${f2(u - b)} s   (goal ≤ 0.30 s)`);
  console.log('where up spends it (medians):');
  for (const k of Object.keys(ups[0].parts))
    console.log(`  ${k.padEnd(24)}${f2(median(ups.map((x) => x.parts[k] ?? 0)))} s`);
}

const VAGRANT_S = {
  'cold up': 12.1,
  'no-op up': 1.4,
  status: 1.0,
  halt: 3.4,
  'up (halted)': null,
  destroy: null,
};

function lifecycle() {
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
  const before = load();
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
  console.log(
    `\nlifecycle: 1 machine, tiny box, a folder and a provisioner, ${ROUNDS} round(s); load ${before}; medians:`,
  );
  console.log('operation       boxfest   vagrant-libvirt   ratio');
  for (const [op, xs] of Object.entries(samples)) {
    const m = median(xs);
    const v = VAGRANT_S[op];
    console.log(
      `${op.padEnd(14)}  ${m.toFixed(2).padStart(6)} s  ${v === null ? '        —' : `${v.toFixed(1).padStart(7)} s`}   ${v === null ? '—' : (m / v).toFixed(2) + '×'}`,
    );
  }
}

if (PARTS.includes('overhead')) await overhead();
if (PARTS.includes('lifecycle')) lifecycle();
