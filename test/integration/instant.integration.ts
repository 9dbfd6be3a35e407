// Instant up on real guests: the first `up` boots the box once and saves its ready state; three
// machines are then restored from it on one private network. Each must be its own machine:
// addresses, SSH host keys, randomness, clock, files. The golden disk and the box never change,
// and a corrupted state file makes a machine boot normally instead.
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MachineState } from '../../src/state/machine-state.js';
import type { InstantMeta } from '../../src/providers/qemu/instant.js';
import { instantStatePaths } from '../../src/providers/qemu/paths.js';
import { sha256, TestProject } from './harness.js';

const MACHINES = { web: '192.168.56.10', db: '192.168.56.11', cache: '192.168.56.12' };

interface StatusRow {
  name: string;
  state: string;
  restored?: boolean;
  instant_fallback?: string;
  networks: { network: string; address: string; mac: string }[];
}

describe('instant up: three machines restored from one saved state', () => {
  const p = new TestProject({
    'Boxfile.yaml': `version: 1
defaults: { box: tiny, memory: 256, instant: true, qemu: { disk_interface: virtio } }
networks:
  backend: { type: private, cidr: 192.168.56.0/24 }
machines:
${Object.entries(MACHINES)
  .map(([m, ip]) => `  ${m}:\n    networks: [{ network: backend, ip: ${ip} }]\n`)
  .join('')}
`,
  });
  let up: Awaited<ReturnType<TestProject['run']>>;
  let boxSha: string;
  let goldenSha: string;
  let ramSha: string;
  let golden: ReturnType<typeof instantStatePaths>;
  const storeImage = () => p.storedImage();
  const state = (m: string) => JSON.parse(readFileSync(p.machine(m).state, 'utf8')) as MachineState;
  const guest = async (m: string, cmd: string) => (await p.ok(['ssh', m, '-c', cmd])).stdout;
  const status = async () => JSON.parse((await p.ok(['status', '--json'])).stdout) as StatusRow[];

  beforeAll(async () => {
    await p.addTinyBox();
    boxSha = sha256(storeImage());
    up = await p.run(['up']);
    if (up.code !== 0)
      throw new Error(
        `up failed\n${up.stderr}\n${up.stdout}\n${Object.keys(MACHINES)
          .map((m) => p.serialLog(m))
          .join('\n')}`,
      );
    golden = instantStatePaths(p.home, 'tiny', '0', state('web').instant!.key!);
    goldenSha = sha256(golden.disk);
    ramSha = sha256(golden.ram);
  });
  afterAll(async () => {
    await p.cleanup();
  });

  it('saved the state once and restored every machine from it, saying so', async () => {
    expect(up.stdout.match(/booting it once to save one/g)).toHaveLength(1);
    const rows = await status();
    expect(rows.map((r) => [r.name, r.state, r.restored])).toEqual(
      Object.keys(MACHINES).map((m) => [m, 'running', true]),
    );
    expect(new Set(Object.keys(MACHINES).map((m) => state(m).instant?.key)).size).toBe(1);
    const list = (await p.ok(['box', 'list'])).stdout;
    expect(list).toMatch(/saved state [0-9a-f]{16}: 256 MiB, 1 cpu\(s\), 1 extra NIC\(s\), tcg/);
  });

  it('the saved state holds the devices; the RAM is a file every restore maps copy-on-write', () => {
    const meta = JSON.parse(readFileSync(golden.meta, 'utf8')) as InstantMeta;
    expect(meta.ramFile?.bytes).toBe(256 * 1024 * 1024);
    expect(statSync(golden.ram).size).toBe(256 * 1024 * 1024);
    // Device state only: the RAM stream of this guest alone was about 95 MB.
    expect(statSync(golden.vmState).size).toBeLessThan(8 * 1024 * 1024);
    for (const m of Object.keys(MACHINES)) {
      const cmd = readFileSync(p.machine(m).cmd, 'utf8');
      expect(cmd).toContain(`mem-path=${golden.ram},share=off`);
    }
  });

  it('they ping each other by their own addresses, with their own MACs', async () => {
    const rows = await status();
    const macs = rows.map((r) => r.networks[0]?.mac);
    expect(new Set(macs).size).toBe(3);
    for (const [from] of Object.entries(MACHINES))
      for (const [to, ip] of Object.entries(MACHINES)) {
        if (from === to) continue;
        const r = await p.run(['ssh', from, '-c', `ping -c 2 -w 6 ${ip}`]);
        expect(r.code, `${from} -> ${to}: ${r.stdout}`).toBe(0);
      }
    for (const r of rows)
      expect(await guest(r.name, 'cat /sys/class/net/eth1/address')).toBe(`${r.networks[0]?.mac}\n`);
  });

  it('each has its own SSH host key, not the saved one', () => {
    const keys = Object.keys(MACHINES).map((m) => state(m).hostKey);
    expect(new Set(keys).size).toBe(3);
    for (const m of Object.keys(MACHINES)) expect(state(m).hostKey).not.toBe(state(m).instant?.hostKey);
  });

  it('each draws its own randomness', async () => {
    const draws = await Promise.all(
      Object.keys(MACHINES).map((m) =>
        guest(m, 'cat /proc/sys/kernel/random/uuid; head -c 32 /dev/urandom | od -An -tx1 | tr -d " \\n"'),
      ),
    );
    const uuids = draws.map((d) => d.split('\n')[0]);
    const bytes = draws.map((d) => d.split('\n')[1]);
    expect(new Set(uuids).size).toBe(3);
    expect(new Set(bytes).size).toBe(3);
  });

  it("each clock is within 2 s of the host's", async () => {
    for (const m of Object.keys(MACHINES)) {
      // The guest read its clock somewhere inside the SSH round trip (`boxfest ssh` is a process
      // and a login: seconds at load), and `date +%s` truncates: compare against that window.
      const before = Date.now() / 1000;
      const guestNow = Number((await guest(m, 'date +%s')).trim());
      const after = Date.now() / 1000;
      expect(guestNow, m).toBeGreaterThan(Math.floor(before) - 2);
      expect(guestNow, m).toBeLessThan(after + 2);
    }
  });

  it('a file written in one does not appear in another', async () => {
    await guest('web', 'echo only-web > /root/mine && sync');
    expect((await p.run(['ssh', 'db', '-c', 'cat /root/mine'])).code).not.toBe(0);
    expect((await p.run(['ssh', 'cache', '-c', 'cat /root/mine'])).code).not.toBe(0);
    expect(await guest('web', 'cat /root/mine')).toBe('only-web\n');
  });

  it('a corrupted state file makes a new machine boot normally, with one line saying why', async () => {
    const vm = golden.vmState;
    const bytes = readFileSync(vm);
    bytes.fill(0x5a, 0, Math.min(bytes.length, 1 << 20));
    writeFileSync(vm, bytes);
    const extra = `${readFileSync(join(p.root, 'Boxfile.yaml'), 'utf8')}  spare:\n    networks: [{ network: backend, ip: 192.168.56.13 }]\n`;
    writeFileSync(join(p.root, 'Boxfile.yaml'), extra);
    const r = await p.run(['up', 'spare']);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(r.stdout).toMatch(/instant: the saved state did not load \(.*\); booting normally/);
    const row = (await status()).find((x) => x.name === 'spare');
    expect(row).toMatchObject({ state: 'running', restored: false });
    expect(row?.instant_fallback).toMatch(/did not load/);
    expect((await p.run(['ssh', 'spare', '-c', 'ping -c 2 -w 6 192.168.56.10'])).code).toBe(0);
  });

  it('the golden disk and the box are unchanged, after all that and destroy', async () => {
    await p.ok(['destroy', '--force']);
    expect(sha256(golden.disk)).toBe(goldenSha);
    // Three guests ran on it for minutes, and wrote: the saved RAM is as it was saved.
    expect(sha256(golden.ram)).toBe(ramSha);
    expect(sha256(storeImage())).toBe(boxSha);
    expect(sha256(p.boxImage)).toBe(boxSha);
  });
});
