#!/usr/bin/env node
// The Debian 12 cloud-init box (test/fixtures/build-debian-box.sh) beside the tiny box: boot-to-SSH
// and the whole `up` of one machine, cold (a new machine: cloud-init's first boot) and again after
// a halt (a second boot), medians over N rounds; and boxfest's overhead over a bare QEMU boot of
// the same image with the same seed (the machine's own cidata.iso, its MAC, memory, CPUs, disks,
// NAT), timed the same way: to the first `ssh true` with the machine's key, and to cloud-init's
// end (its result.json: what `up` of a machine without folders or provisioners waits for). Goal:
// overhead within 10%. A restored (instant) start does not exist for a cloud-init box: it boots.
// Run it under the VM lock; it prints the host load, since other jobs on the host slow TCG.
// Not a test: it prints, it does not assert. Usage: npm run bench:debian [-- ROUNDS]
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, ROOT, benchProject, median, overlay } from './project.js';

const ROUNDS = Number(process.argv[2] ?? 3);
const DEBIAN = join(ROOT, '.cache', 'debian-box');
const MACHINE = { memory: 512, cpus: 1 };

/**
 * Runs `up --json`; seconds until its SSH answered (the whole run less the steps after wait-ssh),
 * until the end, and each step's own seconds (`step_seconds`: where the time goes).
 */
function timedUp(p, args = []) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [BIN, 'up', '--json', ...args], { cwd: p.project, env: p.env });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (err += d));
    child.on('close', (code) => {
      const total = (performance.now() - t0) / 1000;
      if (code !== 0) return reject(new Error(out + err));
      const steps = JSON.parse(out)[0].step_seconds ?? {};
      const names = Object.keys(steps);
      const after = names.slice(names.indexOf('wait-ssh') + 1).reduce((s, n) => s + steps[n], 0);
      resolve({ ssh: total - after, total, steps });
    });
  });
}

/** Median seconds of each step over the runs, in pipeline order, and what no step accounts for. */
function stepLines(runs) {
  const names = [...new Set(runs.flatMap((r) => Object.keys(r.steps)))];
  const lines = names.map((n) => `${n} ${median(runs.map((r) => r.steps[n] ?? 0)).toFixed(1)}`);
  const outside = median(runs.map((r) => r.total - Object.values(r.steps).reduce((s, x) => s + x, 0)));
  return `    steps (median s): ${lines.join(', ')}; outside the steps ${outside.toFixed(1)}`;
}

const freePort = () =>
  new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

const run = (cmd, args) =>
  new Promise((resolve) => {
    const c = spawn(cmd, args, { stdio: 'ignore' });
    c.on('close', (code) => resolve(code));
  });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * A bare QEMU of the box image with the machine's seed: no boxfest. Seconds to the first
 * `ssh true` and to cloud-init's end (its result.json).
 */
async function bareBoot(dir, seed, key, mac) {
  const disk = join(dir, 'bare.qcow2');
  rmSync(disk, { force: true });
  overlay(join(DEBIAN, 'box.qcow2'), disk);
  const port = await freePort();
  const t0 = performance.now();
  // Our child, ended by PID below; the same devices boxfest gives the machine.
  const qemu = spawn(
    'qemu-system-x86_64',
    [
      ...['-accel', 'tcg', '-m', String(MACHINE.memory), '-smp', String(MACHINE.cpus)],
      ...['-nodefaults', '-no-user-config', '-display', 'none'],
      ...['-chardev', `file,id=s0,path=${join(dir, 'bare-serial.log')}`, '-serial', 'chardev:s0'],
      ...[
        '-drive',
        `if=none,id=d0,file=${disk},format=qcow2,discard=unmap`,
        '-device',
        'virtio-blk-pci,drive=d0',
      ],
      ...['-drive', `if=none,id=seed0,file=${seed},format=raw,readonly=on`],
      ...['-device', 'virtio-blk-pci,drive=seed0,serial=boxfest-cidata'],
      ...['-netdev', `user,id=nat0,restrict=on,hostfwd=tcp:127.0.0.1:${port}-:22`],
      ...['-device', `virtio-net-pci,netdev=nat0,mac=${mac}`, '-device', 'virtio-rng-pci'],
    ],
    { stdio: 'ignore' },
  );
  const ssh = (cmd) =>
    run('ssh', [
      ...[
        '-i',
        key,
        '-p',
        String(port),
        '-o',
        'StrictHostKeyChecking=no',
        '-o',
        'UserKnownHostsFile=/dev/null',
      ],
      ...['-o', 'BatchMode=yes', '-o', 'ConnectTimeout=20', '-o', 'LogLevel=ERROR', 'boxfest@127.0.0.1', cmd],
    ]);
  try {
    while ((await ssh('true')) !== 0) {
      if ((performance.now() - t0) / 1000 > 900) throw new Error('bare boot: no SSH within 900 s');
      await sleep(250);
    }
    const toSsh = (performance.now() - t0) / 1000;
    // Its end the way `up` finds it (guest/cloud-init.ts): the file cloud-init writes as its last
    // stage ends, polled by the shell. `cloud-init status --wait` (what this measured before) is a
    // Python process that competes with cloud-init for the guest's CPU and returns later.
    await ssh('while [ ! -e /run/cloud-init/result.json ]; do sleep 0.2; done');
    return { ssh: toSsh, total: (performance.now() - t0) / 1000 };
  } finally {
    qemu.kill('SIGKILL');
    await new Promise((r) => (qemu.exitCode !== null ? r() : qemu.once('exit', r)));
  }
}

const fmt = (xs) => xs.map((x) => x.toFixed(1)).join(', ');
const load = () => loadavg()[0].toFixed(2);
const line = (what, xs) => `${what.padEnd(34)} ${median(xs).toFixed(1).padStart(6)} s  (${fmt(xs)})`;

async function debian() {
  execFileSync('bash', [join(ROOT, 'test/fixtures/build-debian-box.sh'), DEBIAN], { stdio: 'ignore' });
  const p = benchProject({
    'Boxfile.yaml': `version: 1\nmachines:\n  web: { box: debian, memory: ${MACHINE.memory}, cpus: ${MACHINE.cpus}, boot_timeout: 900 }\n`,
  });
  const dir = mkdtempSync(join(tmpdir(), 'boxfest-bench-debian-'));
  const r = {
    coldSsh: [],
    coldUp: [],
    againSsh: [],
    againUp: [],
    bareSsh: [],
    bareDone: [],
    cold: [],
    again: [],
  };
  try {
    p.boxfest('box', 'add', 'debian', join(DEBIAN, 'box.qcow2'), '--cloud-init');
    const m = join(p.project, '.boxfest', 'machines', 'web');
    for (let i = 0; i < ROUNDS; i++) {
      const cold = await timedUp(p);
      r.coldSsh.push(cold.ssh);
      r.coldUp.push(cold.total);
      r.cold.push(cold);
      // What the guest's sshd saw of that boot: each connection boxfest abandoned cost it a fork.
      const log = spawnSync(
        process.execPath,
        [
          BIN,
          'ssh',
          'web',
          '-c',
          'sudo -n journalctl -b -o short-monotonic _COMM=sshd _COMM=sshd-session --no-pager | grep -v "Server listening"',
        ],
        { cwd: p.project, env: p.env, encoding: 'utf8' },
      ).stdout;
      console.log(
        `  round ${i + 1}: the guest's sshd log of the first boot:\n    ${String(log).trim().split('\n').join('\n    ')}`,
      );
      // The machine's own seed and key, for the bare boot of the same image.
      copyFileSync(join(m, 'cidata.iso'), join(dir, 'seed.iso'));
      copyFileSync(join(m, 'id_ed25519'), join(dir, 'key'));
      const mac = /netdev=nat0,mac=([0-9a-f:]+)/.exec(readFileSync(join(m, 'qemu.cmd'), 'utf8'))[1];
      p.boxfest('halt');
      const again = await timedUp(p);
      r.againSsh.push(again.ssh);
      r.againUp.push(again.total);
      r.again.push(again);
      p.boxfest('destroy', '--force');
      const bare = await bareBoot(dir, join(dir, 'seed.iso'), join(dir, 'key'), mac);
      r.bareSsh.push(bare.ssh);
      r.bareDone.push(bare.total);
      console.log(`  round ${i + 1} done (load ${load()})`);
    }
  } finally {
    p.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
  return r;
}

async function tiny() {
  const p = benchProject({
    'Boxfile.yaml': `version: 1\nmachines:\n  web: { box: tiny, memory: ${MACHINE.memory}, cpus: ${MACHINE.cpus} }\n`,
  });
  const r = { ssh: [], up: [] };
  try {
    p.addTinyBox();
    for (let i = 0; i < ROUNDS; i++) {
      const cold = await timedUp(p);
      r.ssh.push(cold.ssh);
      r.up.push(cold.total);
      p.boxfest('destroy', '--force');
    }
  } finally {
    p.cleanup();
  }
  return r;
}

console.log(
  `one machine, ${MACHINE.memory} MiB, ${MACHINE.cpus} vCPU, TCG unless KVM works; ${ROUNDS} round(s), medians (all rounds in brackets)`,
);
console.log(`host load (1 min) at the start: ${load()}`);
const d = await debian();
const t = await tiny();
console.log('Debian 12 cloud-init box:');
console.log(line('  boxfest up, new machine: to SSH', d.coldSsh));
console.log(line('  boxfest up, new machine: whole up', d.coldUp));
console.log(stepLines(d.cold));
console.log(line('  boxfest up after halt: to SSH', d.againSsh));
console.log(line('  boxfest up after halt: whole up', d.againUp));
console.log(stepLines(d.again));
console.log(line('  bare QEMU, same image+seed: ssh', d.bareSsh));
console.log(line('  bare QEMU: cloud-init done', d.bareDone));
console.log(
  `  overhead: to SSH ${(median(d.coldSsh) / median(d.bareSsh)).toFixed(2)}×, whole up vs cloud-init done ${(median(d.coldUp) / median(d.bareDone)).toFixed(2)}× (goal ≤ 1.10×)`,
);
console.log('  restored (instant): not available for a cloud-init box (it falls back to a boot)');
console.log('tiny box (ssh-key, busybox):');
console.log(line('  boxfest up, new machine: to SSH', t.ssh));
console.log(line('  boxfest up, new machine: whole up', t.up));
console.log(
  `Debian / tiny: to SSH ${(median(d.coldSsh) / median(t.ssh)).toFixed(1)}×, whole up ${(median(d.coldUp) / median(t.up)).toFixed(1)}×`,
);
console.log(`host load (1 min) at the end: ${load()}`);
