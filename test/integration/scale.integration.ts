// Paced boots on real guests: four tiny machines with `--parallel 2` never have more than two
// guests booting (launched, SSH not yet answered) at once, watched from outside while `up` runs,
// and every machine reaches SSH. The two that waited say so (in --json, and on plain output).
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { machineQemuPid } from '../../src/providers/qemu/inspect.js';
import type { MachineState } from '../../src/state/machine-state.js';
import { TestProject, type RunResult } from './harness.js';

const NAMES = ['m1', 'm2', 'm3', 'm4'];

interface UpRow {
  machine: string;
  ok: boolean;
  boot_wait_ms?: number;
  step_times?: Record<string, { start: number; end: number }>;
}

describe('boot pacing: 4 machines, --parallel 2', () => {
  const p = new TestProject({
    'Boxfile.yaml': `version: 1\ndefaults: { box: tiny, memory: 128 }\nmachines:\n${NAMES.map((n) => `  ${n}: {}\n`).join('')}`,
  });
  const hostKeyOf = (m: string): string | undefined => {
    const f = p.machine(m).state;
    if (!existsSync(f)) return undefined;
    try {
      return (JSON.parse(readFileSync(f, 'utf8')) as MachineState).hostKey;
    } catch {
      return undefined; // being replaced this instant
    }
  };
  /** Machines whose QEMU runs and whose SSH has not answered yet: booting now. */
  const bootingNow = () =>
    NAMES.filter((m) => machineQemuPid(p.machine(m)) !== undefined && hostKeyOf(m) === undefined);
  let up: RunResult;
  const seen: string[][] = [];

  beforeAll(async () => {
    await p.addTinyBox();
    const running = p.run(['up', '--parallel', '2', '--json']);
    let finished = false;
    void running.then(() => (finished = true));
    while (!finished) {
      seen.push(bootingNow());
      await new Promise((r) => setTimeout(r, 50));
    }
    up = await running;
    if (up.code !== 0)
      throw new Error(
        `up failed\n${up.stderr}\n${up.stdout}\n${NAMES.map((n) => p.serialLog(n)).join('\n')}`,
      );
  });
  afterAll(async () => {
    await p.cleanup();
  });

  it('never had more than two guests booting at once, and had two at some point', () => {
    const most = Math.max(...seen.map((s) => s.length));
    expect(seen.length).toBeGreaterThan(10);
    expect(most).toBe(2);
    // The first to boot are the two that did not wait (whichever reached the boot first: under
    // load m3 may), and the two that waited were let in in Boxfile order.
    const rows = JSON.parse(up.stdout) as UpRow[];
    const waited = rows.filter((r) => (r.boot_wait_ms ?? 0) >= 1_000).map((r) => r.machine);
    expect(waited).toHaveLength(2);
    expect(seen.find((s) => s.length > 0)?.some((m) => waited.includes(m))).toBe(false);
    // Let in in Boxfile order: when both slots free at once, their QEMUs may still start in the
    // other order (a launch takes 0.1-0.4 s under TCG load), so the order is read from when each
    // was let in (its boot step's start plus its wait; the step starts a few ms before it asks).
    const admitted = (m: string) => {
      const r = rows.find((x) => x.machine === m)!;
      return r.step_times!['boot']!.start + r.boot_wait_ms!;
    };
    expect(admitted(waited[0]!)).toBeLessThanOrEqual(admitted(waited[1]!) + 50);
  });

  it('brought every machine to SSH', async () => {
    const rows = JSON.parse(up.stdout) as UpRow[];
    expect(rows.map((r) => [r.machine, r.ok])).toEqual(NAMES.map((n) => [n, true]));
    for (const n of NAMES) {
      expect(hostKeyOf(n)).toMatch(/^ssh-/);
      expect((await p.ok(['ssh', n, '-c', 'hostname'])).stdout.trim()).toBe(n);
    }
  });

  it('says how long the queued machines waited for their turn', () => {
    // Which two machines reach their boot first is theirs to race for: the waits, sorted.
    const waits = (JSON.parse(up.stdout) as UpRow[]).map((r) => r.boot_wait_ms ?? -1).sort((a, b) => a - b);
    expect(waits[0]).toBeGreaterThanOrEqual(0);
    expect(waits[1]).toBeLessThan(1_000);
    // The other two waited for a guest to answer SSH: seconds under TCG.
    expect(waits[2]).toBeGreaterThan(1_000);
    expect(waits[3]).toBeGreaterThan(1_000);
  });

  it('a second up is a no-op and boots nothing', async () => {
    const again = await p.ok(['up', '--parallel', '2', '--json']);
    const rows = JSON.parse(again.stdout) as UpRow[];
    expect(rows.every((r) => r.ok && r.boot_wait_ms === undefined)).toBe(true);
  });

  it('on a terminal, with default pacing: one line per machine, no tree of skipped steps', async () => {
    await p.ok(['destroy', '--force']);
    const r = await p.runOnTerminal(['up'], '');
    expect(r.code, r.stdout).toBe(0);
    // The default paces too (one boot per core): on fewer cores than machines, someone waited.
    if (availableParallelism() < NAMES.length) expect(r.stdout).toMatch(/waiting to boot: \d booting/);
    for (const n of NAMES) expect(r.stdout).toMatch(new RegExp(`${n}: done in \\d+\\.\\d s`));
    expect(r.stdout).not.toMatch(/SKIPPED|↓/);
    for (const n of NAMES) expect(hostKeyOf(n)).toMatch(/^ssh-/);
  });
});
