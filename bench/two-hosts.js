#!/usr/bin/env node
// One environment across two remote libvirt hosts (issue 16), from a laptop that reaches them only
// by SSH (scripts/in-two-hosts.sh: two private libvirtds with their sshd on a LAN bridge, this
// process in a third network namespace). Four machines, two per host, on one private network that
// spans both hosts (VXLAN). Per round: cold `up`, no-op `up`s and `status`es of the running lab,
// `destroy`. Prints medians beside the targets of issue 16 (`status` of 4 remote machines on 2
// hosts ≤ 1 s; no-op `up` ≤ 1.5 s). Not a test: it prints, it asserts nothing.
// Usage: npm run bench:two-hosts [-- ROUNDS [CALLS]]
import { benchProject, hostLoad, lifecycleRounds, spread } from './project.js';

const [a, b] = ['A', 'B'].map((h) => process.env[`BOXFEST_TEST_HOST_${h}_URI`]);
if (a === undefined || b === undefined) {
  console.error(
    'bench/two-hosts.js runs through `npm run bench:two-hosts` (two private libvirt hosts for the run)',
  );
  process.exit(2);
}
const ROUNDS = Number(process.argv[2] ?? 2);
const CALLS = Number(process.argv[3] ?? 5);
const MACHINES = { a1: ['a', 11], a2: ['a', 12], b1: ['b', 21], b2: ['b', 22] };
const boxfile =
  `version: 1\nprovider: libvirt\nhosts:\n  a: { uri: "${a}" }\n  b: { uri: "${b}" }\n` +
  'defaults: { box: tiny, memory: 160MiB }\n' +
  'networks:\n  backend: { type: private, cidr: 10.20.0.0/24 }\n' +
  'machines:\n' +
  Object.entries(MACHINES)
    .map(([m, [h, ip]]) => `  ${m}: { host: ${h}, networks: [{ network: backend, ip: 10.20.0.${ip} }] }\n`)
    .join('');

console.log(`host load (1/5/15 min) before: ${hostLoad()}`);
const r = lifecycleRounds(benchProject({ 'Boxfile.yaml': boxfile }), ROUNDS, CALLS);
console.log(`host load (1/5/15 min) after:  ${hostLoad()}`);
console.log(
  `4 machines on 2 remote hosts, one spanning network, ${ROUNDS} round(s), ${CALLS} calls each; medians (min–max):`,
);
const row = (what, xs, goal) =>
  console.log(`  ${what.padEnd(10)} ${spread(xs)}${goal === undefined ? '' : `   target ≤ ${goal} s`}`);
row('cold up', r.cold);
row('no-op up', r.noop, 1.5);
row('status', r.status, 1);
row('destroy', r.destroy);
