#!/usr/bin/env node
// A libvirt host over SSH beside the same host on its local socket (issue 16): the same private
// libvirtd, once as `qemu:///system` and once as `qemu+ssh://root@127.0.0.1:PORT/system` through
// its sshd (scripts/libvirtd.sh sshd: sshd -i in the daemon's namespaces), the same 3-machine lab
// on one private network. Per URI and round: cold `up`, no-op `up`s and `status`es of the running
// lab, `destroy`. Prints medians and remote/local ratios beside the targets of issue 16 (cold up
// within 1.5× of local; no-op up ≤ 1.5 s; status ≤ 1 s). Over SSH every call to libvirt and every
// connection to a guest rides one SSH connection per command. Not a test: it prints, it asserts
// nothing. Usage: npm run bench:libvirt-remote [-- ROUNDS [CALLS]]
import { execFileSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { benchProject, hostLoad, lifecycleRounds, median, spread } from './project.js';

const dir = process.env['BOXFEST_TEST_LIBVIRTD_DIR'];
if (dir === undefined) {
  console.error(
    'bench/libvirt-remote.js runs through `npm run bench:libvirt-remote` (a private libvirtd for the run)',
  );
  process.exit(2);
}
const ROUNDS = Number(process.argv[2] ?? 2);
const CALLS = Number(process.argv[3] ?? 5);
const ROOT = resolve(import.meta.dirname, '..');
const remote = /^LIBVIRTD_REMOTE_URI='?([^'\n]+)'?$/m.exec(
  execFileSync('bash', [join(ROOT, 'scripts/libvirtd.sh'), 'sshd', dir], { encoding: 'utf8' }),
)?.[1];
if (remote === undefined) throw new Error('scripts/libvirtd.sh sshd printed no LIBVIRTD_REMOTE_URI');

const boxfile = (uri) =>
  `version: 1\nprovider: libvirt\nlibvirt: { uri: "${uri}" }\ndefaults: { box: tiny, memory: 256 }\n` +
  'networks:\n  backend: { type: private, cidr: 192.168.56.0/24 }\n' +
  'machines:\n' +
  ['web', 'db', 'cache']
    .map((n, i) => `  ${n}:\n    networks: [{ network: backend, ip: 192.168.56.${10 + i} }]\n`)
    .join('');

const measure = (uri) => lifecycleRounds(benchProject({ 'Boxfile.yaml': boxfile(uri) }), ROUNDS, CALLS);

console.log(`host load (1/5/15 min) before: ${hostLoad()}`);
const local = measure('qemu:///system');
const ssh = measure(remote);
console.log(`host load (1/5/15 min) after:  ${hostLoad()}`);
console.log(
  `3 machines on one private network, tiny box, ${ROUNDS} round(s), ${CALLS} calls each; medians (min–max):`,
);
for (const [label, key, goal] of [
  ['cold up', 'cold', 'remote within 1.5× of local'],
  ['no-op up', 'noop', 'remote ≤ 1.5 s'],
  ['status', 'status', 'remote ≤ 1 s'],
  ['destroy', 'destroy', '-'],
]) {
  const ratio = median(ssh[key]) / median(local[key]);
  console.log(
    `${label.padEnd(9)} remote ${spread(ssh[key])}   local ${spread(local[key])}   ratio ${ratio.toFixed(2)}×   (goal: ${goal})`,
  );
}
