#!/usr/bin/env node
// The cost of reconciling when there is nothing to do: a no-op `up` and `status` on a running
// 3-machine environment (goals: ≤ 0.5 s and ≤ 0.3 s), plus `plan` and bare `node` start-up for
// scale. Medians over N runs of the whole CLI process. Not a test: it prints, it does not assert.
// Usage: npm run bench:reconcile [-- RUNS]
import { spawnSync } from 'node:child_process';
import { benchProject, median, percentile } from './project.js';

const RUNS = Number(process.argv[2] ?? 15);
const GOALS = { 'no-op up': 0.5, status: 0.3, plan: null, 'node -e 0': null };

const { boxfest, addTinyBox, cleanup } = benchProject({
  'Boxfile.yaml': 'version: 1\ndefaults: { box: tiny, memory: 256 }\nmachines:\n  a: {}\n  b: {}\n  c: {}\n',
});
const samples = Object.fromEntries(Object.keys(GOALS).map((k) => [k, []]));
try {
  addTinyBox();
  console.log(`3 machines up (cold, parallel): ${(boxfest('up') / 1000).toFixed(1)} s`);
  for (let i = 0; i < RUNS; i++) {
    samples['no-op up'].push(boxfest('up') / 1000);
    samples.status.push(boxfest('status') / 1000);
    samples.plan.push(boxfest('plan') / 1000);
    const t0 = performance.now();
    spawnSync(process.execPath, ['-e', '0']);
    samples['node -e 0'].push((performance.now() - t0) / 1000);
  }
} finally {
  cleanup();
}

console.log(`\nrunning 3-machine environment, ${RUNS} runs each:`);
console.log('operation    median     p90    goal   median/goal');
for (const [op, xs] of Object.entries(samples)) {
  const g = GOALS[op];
  console.log(
    `${op.padEnd(11)}  ${median(xs).toFixed(3)} s  ${percentile(xs, 90).toFixed(3)} s  ${g === null ? '   —  ' : `${g.toFixed(1)} s`}   ${g === null ? '—' : (median(xs) / g).toFixed(2) + '×'}`,
  );
}
