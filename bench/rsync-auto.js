#!/usr/bin/env node
// rsync-auto on the tiny box: host-write → visible-in-guest latency over N edits (p50, p95), and
// one changed file in a 10,000-file tree: rsync-auto's targeted sync vs a full `boxfest rsync`.
// Not a test: it prints, it does not assert. Usage: npm run bench:rsync [-- EDITS]
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, benchProject, median, percentile as pct } from './project.js';

const EDITS = Number(process.argv[2] ?? 50);
const TREE = 10_000;
const ROUNDS = 5;

const files = {
  'app/edit.txt': 'v-init\n',
  'Boxfile.yaml':
    'version: 1\nmachines:\n  web:\n    box: tiny\n    memory: 256\n' +
    '    synced_folders: [{ src: ./app, dest: /srv/app }, { src: ./tree, dest: /srv/tree }]\n',
};
for (let d = 0; d < TREE / 100; d++)
  for (let f = 0; f < 100; f++) files[`tree/d${d}/f${f}.txt`] = `${d}/${f}\n`;
const { project, env, boxfest, addTinyBox, cleanup } = benchProject(files);
const sshConfig = join(project, '.boxfest/machines/web/ssh_config');

/** Lines from a child's stream, awaited one at a time. */
function lineReader(stream) {
  const lines = [];
  const waiters = [];
  let buf = '';
  stream.setEncoding('utf8').on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const l = buf.slice(0, i);
      buf = buf.slice(i + 1);
      const w = waiters.findIndex((x) => x.test(l));
      if (w >= 0) waiters.splice(w, 1)[0].resolve(l);
      else lines.push(l);
    }
  });
  return (test, timeoutMs = 10_000) => {
    const k = lines.findIndex(test);
    if (k >= 0) return Promise.resolve(lines.splice(k, 1)[0]);
    return new Promise((resolve, reject) => {
      const w = { test, resolve: (l) => (clearTimeout(timer), resolve(l)) };
      const timer = setTimeout(() => {
        waiters.splice(waiters.indexOf(w), 1);
        reject(new Error('timed out waiting for a line'));
      }, timeoutMs);
      waiters.push(w);
    });
  };
}

// In the guest, one long-running shell (the tiny box has only dash): for each request (path,
// wanted first line) it polls the file with builtins and a 10 ms sleep, and answers `ok`, so the
// measurement costs the single-vCPU TCG guest little: no SSH session or process per check.
const POLLER = `while IFS= read -r path && IFS= read -r want; do
  while :; do
    got=; [ -r "$path" ] && IFS= read -r got < "$path"
    [ "$got" = "$want" ] && break
    sleep 0.01
  done
  echo ok
done`;

let auto;
let poller;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const latencies = [];
const targeted = [];
const targetedVisible = [];
const full = [];
const rawFull = [];
try {
  addTinyBox();
  const upMs = boxfest('up');
  console.log(`up with the ${TREE}-file tree: ${(upMs / 1000).toFixed(1)} s`);
  const alias = /^Host (\S+)/m.exec(readFileSync(sshConfig, 'utf8'))[1];

  auto = spawn(process.execPath, [BIN, 'rsync-auto'], {
    cwd: project,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const autoOut = lineReader(auto.stdout);
  const autoErr = lineReader(auto.stderr);
  await autoErr((l) => l.startsWith('watching'), 120_000);

  poller = spawn('ssh', ['-F', sshConfig, alias, 'sh', '-c', `'${POLLER.replaceAll("'", "'\\''")}'`], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const polled = lineReader(poller.stdout);
  /** Writes `text` to the host file and returns the ms until the guest sees it. */
  async function editAndWait(hostPath, guestPath, text) {
    poller.stdin.write(`${guestPath}\n${text}\n`);
    await sleep(30); // the poller is polling before the write
    const t0 = performance.now();
    writeFileSync(hostPath, text + '\n');
    await polled((l) => l === 'ok');
    return performance.now() - t0;
  }

  for (let i = 0; i < EDITS; i++) {
    latencies.push(await editAndWait(join(project, 'app/edit.txt'), '/srv/app/edit.txt', `edit-${i}`));
    await autoOut((l) => /^web: \d+ change\(s\) synced/.test(l)); // this edit's sync line
    await sleep(50);
  }

  for (let i = 0; i < ROUNDS; i++) {
    const f = `d${i * 7}/f${i * 13}.txt`;
    targetedVisible.push(await editAndWait(join(project, 'tree', f), `/srv/tree/${f}`, `auto-${i}`));
    const line = await autoOut((l) => /^web: \d+ change\(s\) synced/.test(l));
    targeted.push(Number(/in (\d+) ms/.exec(line)[1]));
    await sleep(100);
  }
  process.kill(auto.pid, 'SIGINT');
  const code = await new Promise((r) => auto.once('exit', (c) => r(c)));
  console.log(`rsync-auto stopped by SIGINT, exit code ${code}`);

  for (let i = 0; i < ROUNDS; i++) {
    writeFileSync(join(project, 'tree', `d${i * 11}/f${i * 3}.txt`), `full-${i}\n`);
    full.push(boxfest('rsync'));
  }
  // The same full tree rsync without boxfest around it (no node start, no SSH setup of our own).
  for (let i = 0; i < ROUNDS; i++) {
    writeFileSync(join(project, 'tree', `d${i * 5}/f${i * 17}.txt`), `raw-${i}\n`);
    const t0 = performance.now();
    execFileSync('rsync', [
      '-a',
      '--delete',
      '-e',
      `ssh -F '${sshConfig}'`,
      join(project, 'tree') + '/',
      `${alias}:/srv/tree`,
    ]);
    rawFull.push(performance.now() - t0);
  }
} finally {
  if (poller?.pid !== undefined && poller.exitCode === null) {
    poller.stdin.end();
    poller.kill('SIGTERM');
  }
  if (auto?.pid !== undefined && auto.exitCode === null && auto.signalCode === null)
    process.kill(auto.pid, 'SIGKILL');
  cleanup();
}

const f0 = (x) => x.toFixed(0).padStart(6);
console.log(
  `\nrsync-auto latency, host write → visible in guest, ${latencies.length} edits (goal p50 ≤ 300 ms, p95 ≤ 1000 ms):`,
);
console.log(
  `  p50 ${f0(pct(latencies, 50))} ms   p95 ${f0(pct(latencies, 95))} ms   min ${f0(Math.min(...latencies))} ms   max ${f0(Math.max(...latencies))} ms`,
);
console.log(`\none changed file in a ${TREE}-file tree, medians of ${ROUNDS}:`);
console.log(`  rsync-auto targeted sync (its own timing)   ${f0(median(targeted))} ms`);
console.log(`  rsync-auto host write → visible in guest    ${f0(median(targetedVisible))} ms`);
console.log(`  boxfest rsync (full, whole command)         ${f0(median(full))} ms`);
console.log(`  plain rsync -a --delete of the tree         ${f0(median(rawFull))} ms`);
console.log(`  ratio full boxfest rsync / targeted sync    ${(median(full) / median(targeted)).toFixed(1)}×`);
console.log(
  `  ratio plain full rsync / targeted sync      ${(median(rawFull) / median(targeted)).toFixed(1)}×`,
);
