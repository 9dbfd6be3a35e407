// The stale-lock takeover raced by real processes: each a separate node running the real lock
// code (src/state/lock.ts, compiled for the test), started together, so the interleavings are
// the kernel's, not a simulation's. Mutual exclusion is checked three ways: an O_EXCL marker file
// only the holder may create, the lock file naming the holder for as long as it holds it, and
// exactly one winner per round among processes that all saw the same stale lock.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const SRC = resolve(import.meta.dirname, '../../../src');
/** The lock and what it imports at run time, compiled as they are into a temp tree. */
const MODULES = ['state/lock.ts', 'state/process.ts', 'errors.ts'];

// The worker: waits for the start signal, tries the lock (once, or until it gets it), and in
// its critical section checks that it alone is there; then exits WITHOUT releasing, so the next
// holder has to take over a lock left by a dead process.
const WORKER = `
import { acquireLock } from './state/lock.js';
import { appendFileSync, closeSync, existsSync, openSync, readFileSync, rmSync } from 'node:fs';
const [lock, marker, log, go, mode] = process.argv.slice(2);
const nap = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
const note = (s) => appendFileSync(log, s + ' ' + process.pid + '\\n');
note('READY');
while (!existsSync(go)) nap(1);
for (;;) {
  try {
    acquireLock(lock, 'worker');
    break;
  } catch (e) {
    if (e.code !== 'PROJECT_LOCKED') { note('ERROR ' + e.message); process.exit(2); }
    if (mode === 'once') { note('LOCKED'); process.exit(0); }
    nap(1 + Math.floor(Math.random() * 3));
  }
}
let fd;
try { fd = openSync(marker, 'wx'); } catch { note('OVERLAP'); process.exit(3); }
note('IN');
const named = () => JSON.parse(readFileSync(lock, 'utf8')).pid === process.pid;
// once: try once, hold 100 ms; loop: try until served, hold 5 ms; long: try until served, hold 1 s.
const [turns, each] = mode === 'once' ? [20, 5] : mode === 'long' ? [100, 10] : [5, 1];
for (let i = 0; i < turns; i++) {
  if (!named()) { note('STOLEN'); process.exit(4); }
  nap(each);
}
closeSync(fd);
rmSync(marker);
note('OUT');
process.exit(0);
`;

let dir: string;

afterAll(() => rmSync(dir, { recursive: true, force: true }));

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'boxfest-lock-race-'));
  for (const m of MODULES) {
    const out = ts.transpileModule(readFileSync(join(SRC, m), 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    }).outputText;
    mkdirSync(dirname(join(dir, m)), { recursive: true });
    writeFileSync(join(dir, m.replace(/\.ts$/, '.js')), out);
  }
  writeFileSync(join(dir, 'package.json'), '{"type":"module"}\n');
  writeFileSync(join(dir, 'worker.js'), WORKER);
});

/** A lock file whose holder has exited: what a killed boxfest leaves. */
async function staleLock(file: string): Promise<void> {
  const child = spawn('true');
  await new Promise((r) => child.once('exit', r));
  writeFileSync(
    file,
    JSON.stringify({ pid: child.pid, command: 'killed', since: '2026-01-01T00:00:00.000Z', token: 'dead' }) +
      '\n',
  );
}

type Mode = 'once' | 'loop' | 'long';

/** Starts one worker on `round`'s lock; it waits for the file `go`. `prefix`: a command to run it under. */
function worker(round: string, go: string, mode: Mode, prefix: string[] = []): Promise<number> {
  const args = [
    join(dir, 'worker.js'),
    join(round, 'lock'),
    join(round, 'marker'),
    join(round, 'log'),
    go,
    mode,
  ];
  const [cmd, ...rest] = [...prefix, process.execPath, ...args];
  const child = spawn(cmd!, rest, { stdio: ['ignore', 'ignore', 'inherit'] });
  return new Promise<number>((r) => child.once('exit', (code) => r(code ?? -1)));
}

const logOf = (round: string) => readFileSync(join(round, 'log'), 'utf8').trim().split('\n');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function allReady(round: string, n: number): Promise<void> {
  while (logOf(round).filter((l) => l.startsWith('READY')).length < n) await sleep(5);
}

/** The workers' events in order, once all exited, after checking none failed. */
async function finished(round: string, exits: Promise<number>[]): Promise<string[]> {
  const codes = await Promise.all(exits);
  const lines = logOf(round);
  expect(
    codes.filter((c) => c !== 0),
    lines.join('\n'),
  ).toEqual([]);
  return lines.map((l) => l.split(' ')[0]!).filter((e) => e !== 'READY');
}

/** Runs `n` workers at once against `round`'s lock. */
async function race(round: string, n: number, mode: Mode): Promise<string[]> {
  writeFileSync(join(round, 'log'), '');
  const go = join(round, 'go');
  const exits = Array.from({ length: n }, () => worker(round, go, mode));
  // Once every worker waits for this file, they reach the lock within a millisecond or two.
  await allReady(round, n);
  writeFileSync(go, '');
  return finished(round, exits);
}

describe('stale lock takeover, raced by real processes', () => {
  // The interleaving that used to give two holders, made certain instead of rare: the kernel
  // (strace's syscall fault injection) holds one taker's rename(2) calls for 1.5 s each, so it
  // acts on what it saw of the lock long after another process has taken it over.
  it('a taker whose view of the lock is old never takes it from the holder that came after', async () => {
    const round = join(dir, 'slow-taker');
    mkdirSync(round);
    await staleLock(join(round, 'lock'));
    writeFileSync(join(round, 'log'), '');
    const go = (w: string) => join(round, `go-${w}`);
    const slow = ['strace', '-f', '-qq', '-o', '/dev/null', '-e', 'trace=rename,renameat,renameat2'];
    slow.push('-e', 'inject=rename,renameat,renameat2:delay_enter=1500000:delay_exit=1500000');
    const exits = [
      worker(round, go('b'), 'long', slow),
      worker(round, go('a'), 'long'),
      worker(round, go('c'), 'long'),
    ];
    await allReady(round, 3);
    writeFileSync(go('b'), ''); // b finds the dead holder's lock and starts its (slow) takeover
    await sleep(300);
    writeFileSync(go('a'), ''); // a comes while b is stuck in its rename
    await sleep(300);
    writeFileSync(go('c'), '');
    const events = await finished(round, exits);
    expect(events.join(' ')).toBe('IN OUT IN OUT IN OUT');
  }, 60_000);

  it('three processes that all find the same dead holder: exactly one gets the lock, every round', async () => {
    for (let i = 0; i < 12; i++) {
      const round = join(dir, `three-${i}`);
      mkdirSync(round);
      await staleLock(join(round, 'lock'));
      const events = await race(round, 3, 'once');
      expect(
        events.filter((e) => e === 'IN'),
        `round ${i}: ${events.join(' ')}`,
      ).toHaveLength(1);
      expect(events.filter((e) => e === 'LOCKED')).toHaveLength(2);
      expect(events).not.toContain('OVERLAP');
      expect(events).not.toContain('STOLEN');
    }
  }, 120_000);

  it('a chain of ten, each holder dying with the lock: one holder at a time, all of them served', async () => {
    for (let i = 0; i < 2; i++) {
      const round = join(dir, `chain-${i}`);
      mkdirSync(round);
      await staleLock(join(round, 'lock'));
      const events = await race(round, 10, 'loop');
      // IN and OUT strictly alternate: never a second holder inside, and every worker got its turn.
      expect(events.join(' ')).toBe(Array(10).fill('IN OUT').join(' '));
    }
  }, 120_000);
});
