#!/usr/bin/env node
// The cost of reconciling when there is nothing to do: a no-op `up` and `status` on a running
// 3-machine environment on a private network (goals: ≤ 0.5 s and ≤ 0.3 s), plus `plan` and bare `node` start-up for
// scale. Medians over N runs of the whole CLI process: wall time, and CPU time (user + sys, from
// GNU time), which a busy shared host inflates much less. Not a test: it prints, it does not
// assert. Usage: npm run bench:reconcile [-- RUNS]
// BOXFEST_BENCH_VS=/path/to/other/bin/boxfest.js also times that build's no-op `up` and `status`
// on the same running environment, run by run in turn with this one, and prints the ratios (a
// change that must not slow them, measured before and after on one host at one time).
import { spawnSync } from 'node:child_process';
import { BIN, benchProject, median, percentile } from './project.js';

const RUNS = Number(process.argv[2] ?? 15);
const VS = process.env.BOXFEST_BENCH_VS;
const GOALS = { 'no-op up': 0.5, status: 0.3, plan: null, 'node -e 0': null };
const ARGS = {
  'no-op up': [BIN, 'up'],
  status: [BIN, 'status'],
  plan: [BIN, 'plan'],
  'node -e 0': ['-e', '0'],
};
if (VS !== undefined) {
  GOALS['no-op up (vs)'] = null;
  GOALS['status (vs)'] = null;
  ARGS['no-op up (vs)'] = [VS, 'up'];
  ARGS['status (vs)'] = [VS, 'status'];
}

// A lab as people write it: a private network (its switch is checked for each machine) and a
// forwarded port.
const BOXFILE = `version: 1
defaults: { box: tiny, memory: 256 }
networks:
  lab: { type: private, cidr: 192.168.77.0/24, dhcp: true }
machines:
  a:
    networks: [{ network: lab, ip: 192.168.77.10 }]
    forwarded_ports: [{ guest: 80, host: 18080, auto_correct: true }]
  b:
    networks: [{ network: lab }]
  c:
    networks: [{ network: lab }]
`;
const { project, env, boxfest, addTinyBox, cleanup } = benchProject({ 'Boxfile.yaml': BOXFILE });

/** [wall s, cpu s] of one run, measured by GNU time. */
function timed(args) {
  const r = spawnSync('/usr/bin/time', ['-f', '%e %U %S', process.execPath, ...args], {
    cwd: project,
    env,
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}`);
  const [wall, user, sys] = r.stderr.trim().split('\n').pop().split(' ').map(Number);
  return [wall, user + sys];
}

const wall = Object.fromEntries(Object.keys(GOALS).map((k) => [k, []]));
const cpu = Object.fromEntries(Object.keys(GOALS).map((k) => [k, []]));
try {
  addTinyBox();
  console.log(`3 machines up (cold, parallel): ${(boxfest('up') / 1000).toFixed(1)} s`);
  for (let i = 0; i < RUNS; i++)
    for (const op of Object.keys(GOALS)) {
      const [w, c] = timed(ARGS[op]);
      wall[op].push(w);
      cpu[op].push(c);
    }
} finally {
  cleanup();
}

console.log(
  `\nrunning 3-machine environment, ${RUNS} runs each (load average now ${(await import('node:os')).loadavg()[0].toFixed(1)}):`,
);
console.log('operation      wall median   wall p90   cpu median   goal   wall/goal');
for (const op of Object.keys(GOALS)) {
  const g = GOALS[op];
  const m = median(wall[op]);
  console.log(
    `${op.padEnd(13)}  ${m.toFixed(2).padStart(8)} s  ${percentile(wall[op], 90).toFixed(2).padStart(7)} s  ${median(cpu[op]).toFixed(2).padStart(9)} s  ${g === null ? '   —  ' : `${g.toFixed(1)} s`}   ${g === null ? '—' : (m / g).toFixed(2) + '×'}`,
  );
}

if (VS !== undefined) {
  console.log(`\nthis build / ${VS}, run by run (median of the ratios):`);
  for (const op of ['no-op up', 'status']) {
    const w = wall[op].map((x, i) => x / wall[`${op} (vs)`][i]);
    const c = cpu[op].map((x, i) => x / cpu[`${op} (vs)`][i]);
    console.log(`${op.padEnd(13)}  wall ${median(w).toFixed(2)}×   cpu ${median(c).toFixed(2)}×`);
  }
}
