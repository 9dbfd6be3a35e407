// A libvirt machine's port forwarder whose pidfile went with its project's .boxfest/ (a fresh
// checkout under a running machine) is still found and ended, by its whole command line; a
// process of another machine, or one that only mentions the machine's forwards file, never is.
// Real processes (a stand-in script at a forwarder's path), ended by PID.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stopForwarder, strayForwarderPids } from '../../../src/providers/libvirt/forwards.js';
import { libvirtPaths } from '../../../src/providers/libvirt/paths.js';
import { isAlive, waitUntil } from '../../../src/state/process.js';

const base = mkdtempSync(join(tmpdir(), 'boxfest-fwd-'));
const script = (rel: string) => {
  const file = join(base, rel);
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(file, 'setInterval(() => undefined, 1000);\n');
  return file;
};
const FORWARDER = script('install/dist/providers/libvirt/forwarder.js');
const OTHER_SCRIPT = script('install/dist/other.js');
const machine = (name: string) => join(base, 'project', '.boxfest', 'machines', name);
const children: ChildProcess[] = [];
const run = (...args: string[]) => {
  const c = spawn(process.execPath, args, { stdio: 'ignore' });
  children.push(c);
  return c.pid!;
};

afterAll(async () => {
  for (const c of children)
    if (c.pid !== undefined && isAlive(c.pid)) {
      c.kill('SIGKILL');
      await waitUntil(() => !isAlive(c.pid!), 3_000);
    }
  rmSync(base, { recursive: true, force: true });
});

describe('a forwarder without its pidfile', () => {
  it('is found by its command line and ended; other processes stay', async () => {
    const web = machine('web');
    const ours = run(FORWARDER, libvirtPaths(web).forwards);
    const otherMachine = run(FORWARDER, libvirtPaths(machine('db')).forwards);
    const mentionsOnly = run(OTHER_SCRIPT, libvirtPaths(web).forwards);
    // A forwarder's file of the same name in another directory is another machine's.
    const prefixed = run(FORWARDER, `${libvirtPaths(web).forwards}.old`);
    await waitUntil(() => strayForwarderPids(web).length > 0, 5_000);
    expect(strayForwarderPids(web)).toEqual([ours]);

    await stopForwarder(web); // no pidfile: web's directory does not exist
    expect(await waitUntil(() => !isAlive(ours), 3_000)).toBe(true);
    for (const pid of [otherMachine, mentionsOnly, prefixed]) expect(isAlive(pid), String(pid)).toBe(true);
    expect(strayForwarderPids(web)).toEqual([]);
  });
});
