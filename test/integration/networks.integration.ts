// Multi-machine environments on real guests (QEMU). The three-machine private network scenario is
// shared with the other providers (scenarios/three-machines.ts); here also: fixed-port collisions
// refused before any VM starts, auto_correct across two concurrent projects, bring-up order.
import { afterAll, describe, expect, it } from 'vitest';
import { type Server } from 'node:net';
import { freePort } from '../../src/network/ports.js';
import { TestProject } from './harness.js';
import { httpGet, HTTP_RESPONDER, hold, type PortRow } from './scenarios/net-helpers.js';
import { threeMachinesScenario } from './scenarios/three-machines.js';
import { QEMU } from './targets.js';

threeMachinesScenario(QEMU);

describe('forwarded port collisions', () => {
  const held: Server[] = [];
  const projects: TestProject[] = [];
  afterAll(async () => {
    for (const s of held) s.close();
    // Last made first: a project sharing another's home must be destroyed before that home goes
    // (its `destroy` would write the home anew, and leave it behind).
    for (const p of [...projects].reverse()) await p.cleanup();
  });
  const project = (port: number, autoCorrect: boolean, home?: string) => {
    const p = new TestProject(
      {
        'Boxfile.yaml': `version: 1
defaults: { box: tiny, memory: 256 }
machines:
  web:
    forwarded_ports: [{ guest: 80, host: ${port}${autoCorrect ? ', auto_correct: true' : ''} }]
    provision:${HTTP_RESPONDER}
`,
      },
      home === undefined ? {} : { home },
    );
    projects.push(p);
    return p;
  };

  it('a fixed host port that is taken fails before any VM starts, naming it', async () => {
    const port = await freePort();
    held.push(await hold(port));
    const p = project(port, false);
    await p.addTinyBox();
    const r = await p.run(['up']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `error (machine web): host port tcp 127.0.0.1:${port} (forwarded to guest port 80) is already in use by another program [PORT_IN_USE]`,
    );
    expect(r.stderr).toContain('no machine was started');
    expect(p.qemuPids()).toEqual([]);
    expect((await p.ok(['status', '--json'])).stdout).toContain('"state": "not_created"');
  });

  it('auto_correct picks free ports from the range, distinct across two projects started at once', async () => {
    const port = await freePort();
    held.push(await hold(port));
    const first = project(port, true);
    await first.addTinyBox();
    // One boxfest home (one user), two projects asking for the same taken port at the same time.
    const second = project(port, true, first.home);
    const [a, b] = await Promise.all([first.run(['up']), second.run(['up'])]);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    const hostPort = async (p: TestProject) => {
      const rows = JSON.parse((await p.ok(['port', '--json'])).stdout) as PortRow[];
      const fwd = rows[0]?.ports.find((x) => x.guest === 80);
      expect(fwd).toMatchObject({ requested: port, host_ip: '127.0.0.1' });
      return fwd!.host;
    };
    const [pa, pb] = [await hostPort(first), await hostPort(second)];
    expect(pa).not.toBe(pb);
    for (const x of [pa, pb]) expect(x).toBeGreaterThanOrEqual(2200);
    for (const x of [pa, pb]) expect(x).toBeLessThanOrEqual(2250);
    expect(a.stdout + a.stderr).toContain(
      `host port ${port} is taken: guest port 80 is forwarded from 127.0.0.1:${pa} instead`,
    );
    expect([await httpGet(pa), await httpGet(pb)]).toEqual(['web', 'web']);
  });
});

describe('bring-up order', () => {
  const p = new TestProject({
    'Boxfile.yaml': `version: 1
defaults: { box: tiny, memory: 256 }
machines:
  first: {}
  second: {}
`,
  });
  afterAll(async () => {
    await p.cleanup();
  });

  it('--no-parallel brings machines up one at a time, in Boxfile order', async () => {
    await p.addTinyBox();
    const r = await p.ok(['up', '--no-parallel']);
    // Plain-line output (not a terminal): each line names its machine.
    const lines = r.stdout.split('\n');
    const firstReady = lines.findIndex((l) => /first: ready/.test(l));
    const secondStarts = lines.findIndex((l) => /second: /.test(l));
    expect(firstReady).toBeGreaterThanOrEqual(0);
    expect(secondStarts).toBeGreaterThan(firstReady);
  });
});
