#!/usr/bin/env node
// The libvirt provider beside the QEMU provider, in the same run on the same box (virtio) and the
// same Boxfile: 3 machines on one private network. Per provider and round: cold `up`, then no-op
// `up`s and `status`es of the running lab, `halt`, `up` of the halted lab, and `destroy` of the
// running one. Prints medians and libvirt/QEMU ratios, and the targets of issue 15: no-op up
// ≤ 0.5 s and status ≤ 0.3 s for 3 machines on libvirt, cold up within 1.3× of QEMU's. Then the
// local per-call cost of boxfest's RPC client against virsh (bench/libvirt-calls.js), on a domain
// of the running libvirt lab. Host load is printed before and after (a shared machine).
// Runs inside a private libvirtd's namespaces (scripts/in-libvirtd.sh starts and stops it; the
// QEMU provider runs there too, so both see the same host). Not a test: it prints, it asserts
// nothing. Usage: npm run bench:libvirt [-- ROUNDS [CALLS]]
import { projectName } from '../dist/config/defaults.js';
import { domainName } from '../dist/providers/libvirt/names.js';
import { callCosts } from './libvirt-calls.js';
import { benchProject, hostLoad, median, spread } from './project.js';

if (process.env['BOXFEST_TEST_LIBVIRTD_PID'] === undefined) {
  console.error('bench/libvirt.js runs through `npm run bench:libvirt` (a private libvirtd for the run)');
  process.exit(2);
}

const ROUNDS = Number(process.argv[2] ?? 3);
const CALLS = Number(process.argv[3] ?? 5);

const boxfile = (provider) =>
  `version: 1\nprovider: ${provider}\ndefaults: { box: tiny, memory: 256 }\n` +
  'networks:\n  backend: { type: private, cidr: 192.168.56.0/24 }\n' +
  'machines:\n' +
  ['web', 'db', 'cache']
    .map((n, i) => `  ${n}:\n    networks: [{ network: backend, ip: 192.168.56.${10 + i} }]\n`)
    .join('');

async function measure(provider) {
  const p = benchProject({ 'Boxfile.yaml': boxfile(provider) });
  const r = { cold: [], noop: [], status: [], halt: [], warm: [], destroy: [], steps: {} };
  try {
    p.addTinyBox({ diskInterface: 'virtio' });
    for (let i = 0; i < ROUNDS; i++) {
      const cold = p.run('up', '--json');
      r.cold.push(cold.ms / 1000);
      // Where the cold up's time goes, from boxfest's own step timings (every machine, every round).
      for (const m of JSON.parse(cold.stdout))
        for (const [step, s] of Object.entries(m.step_seconds ?? {})) (r.steps[step] ??= []).push(s);
      for (let j = 0; j < CALLS; j++) r.noop.push(p.boxfest('up') / 1000);
      for (let j = 0; j < CALLS; j++) r.status.push(p.boxfest('status') / 1000);
      if (provider === 'libvirt' && i === 0) {
        const domain = domainName({ name: projectName(p.project), root: p.project }, 'web');
        // A failure here must not cost the run's other figures.
        r.calls = await callCosts(domain).catch((e) => (console.error(`per-call costs: ${e}`), []));
      }
      r.halt.push(p.boxfest('halt') / 1000);
      r.warm.push(p.boxfest('up') / 1000);
      r.destroy.push(p.boxfest('destroy', '--force') / 1000);
    }
  } finally {
    p.cleanup();
  }
  return r;
}

console.log(`host load (1/5/15 min) before: ${hostLoad()}`);
const qemu = await measure('qemu');
const libvirt = await measure('libvirt');
console.log(`host load (1/5/15 min) after:  ${hostLoad()}`);
console.log(
  `3 machines on one private network, tiny box (virtio), ${ROUNDS} round(s), ${CALLS} calls each; medians (min–max):`,
);
const rows = [
  ['cold up', 'cold', 'within 1.3× of QEMU'],
  ['no-op up', 'noop', 'libvirt ≤ 0.5 s'],
  ['status', 'status', 'libvirt ≤ 0.3 s'],
  ['halt', 'halt', '-'],
  ['up halted', 'warm', '-'],
  ['destroy', 'destroy', '-'],
];
for (const [label, key, goal] of rows) {
  const ratio = median(libvirt[key]) / median(qemu[key]);
  console.log(
    `${label.padEnd(10)} libvirt ${spread(libvirt[key])}   qemu ${spread(qemu[key])}   ratio ${ratio.toFixed(2)}×   (goal: ${goal})`,
  );
}
console.log('cold up per step, medians over machines and rounds (s), where they differ by 0.1 s or more:');
for (const step of Object.keys(libvirt.steps)) {
  const lv = median(libvirt.steps[step]);
  const q = qemu.steps[step] === undefined ? 0 : median(qemu.steps[step]);
  if (Math.abs(lv - q) >= 0.1)
    console.log(
      `  ${step.padEnd(18)} libvirt ${lv.toFixed(2).padStart(6)}   qemu ${q.toFixed(2).padStart(6)}   +${(lv - q).toFixed(2)}`,
    );
}
console.log("local per-call cost on one running domain, medians in ms (RPC: boxfest's client):");
console.log(
  `${''.padEnd(13)}${'RPC'.padStart(8)}${'virsh session'.padStart(15)}${'virsh/call'.padStart(12)}   ratios`,
);
for (const c of libvirt.calls) {
  console.log(
    `${c.label.padEnd(13)}${c.rpc.toFixed(2).padStart(8)}${c.session.toFixed(2).padStart(15)}${c.process.toFixed(2).padStart(12)}   ` +
      `session/RPC ${(c.session / c.rpc).toFixed(1)}×, process/RPC ${(c.process / c.rpc).toFixed(1)}×`,
  );
}
console.log(
  '(connect: RPC = AUTH_LIST + CONNECT_OPEN; virsh session = spawn + first `version`; virsh/call = `virsh version`)',
);
