// What users meet when things go wrong: a bad Boxfile touches no VM; a failing provisioner and a
// guest that never answers SSH say which machine, which step, and show the evidence.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TestProject } from './harness.js';

const projects: TestProject[] = [];
const project = (files: Record<string, string>) => {
  const p = new TestProject(files);
  projects.push(p);
  return p;
};
afterEach(async () => {
  for (const p of projects.splice(0)) await p.cleanup();
});

describe('failures', () => {
  it('a bad Boxfile fails before any VM starts, naming every problem with line and column', async () => {
    const p = project({
      'Boxfile.yaml': `version: 1
machines:
  web:
    box: tiny
    memroy: 256
  db:
    cpus: two
`,
    });
    await p.addTinyBox();
    const r = await p.run(['up']);
    expect(r.code).toBe(1);
    const file = join(p.root, 'Boxfile.yaml');
    expect(r.stderr).toContain(`${file}:5:5  machines.web.memroy: unknown key \`memroy\``);
    expect(r.stderr).toContain('did you mean `memory`?');
    expect(r.stderr).toContain(`${file}:7:11  machines.db.cpus: "two" is not an integer`);
    expect(r.stderr).toContain('No machine was touched.');
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(existsSync(join(p.root, '.boxfest'))).toBe(false);
  });

  it('a machine without a box is reported at its position, and validate --json lists it', async () => {
    const p = project({ 'Boxfile.yaml': 'version: 1\nmachines:\n  web:\n    cpus: 1\n' });
    const r = await p.run(['validate', '--json']);
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout) as {
      error: { issues: { line: number; path: string; message: string }[] };
    };
    expect(out.error.issues).toMatchObject([
      { line: 3, path: 'machines.web', message: expect.stringContaining('has no box') as string },
    ]);
    expect(existsSync(join(p.root, '.boxfest'))).toBe(false);
  });

  it('a failing provisioner reports machine, name, exit code and its output; the machine stays up', async () => {
    const p = project({
      'Boxfile.yaml': `version: 1
machines:
  web:
    box: tiny
    memory: 256
    provision:
      - name: breaks
        shell: |
          echo "about to fail"
          exit 42
`,
    });
    await p.addTinyBox();
    const r = await p.run(['up']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('web | about to fail');
    expect(r.stderr).toContain(
      'error (machine web, step provision): provisioner `breaks` exited with code 42',
    );
    expect(r.stderr).toContain('about to fail');
    expect(r.stderr).toContain('boxfest provision web');
    expect(JSON.parse((await p.ok(['status', '--json'])).stdout)).toMatchObject([
      { name: 'web', state: 'running' },
    ]);
    // The next `up` picks up where it stopped: the provisioner runs (and fails) again. Two at
    // once: one holds the project lock, the other is turned away naming it.
    const [a, b] = await Promise.all([p.run(['up']), p.run(['up'])]);
    const [ran, locked] = a.stderr.includes('PROJECT_LOCKED') ? [b, a] : [a, b];
    expect(ran.stderr).toContain('exited with code 42');
    expect(locked.code).toBe(1);
    expect(locked.stderr).toMatch(/another boxfest is working on this project: pid \d+ running `up`/);
    // --json: one document on stdout, with the machine's failure in it.
    const j = await p.run(['up', '--json']);
    expect(j.code).toBe(1);
    expect(JSON.parse(j.stdout)).toMatchObject([
      {
        machine: 'web',
        action: 'continue',
        ok: false,
        failed_step: 'provision',
        error: { code: 'PROVISION_FAILED' },
      },
    ]);
  });

  it('one machine failing does not stop the others; the summary names it and its step', async () => {
    const p = project({
      'Boxfile.yaml': `version: 1
defaults: { box: tiny, memory: 256 }
machines:
  good:
    provision: [{ shell: echo good-done }]
  bad:
    provision: [{ name: boom, shell: exit 9 }]
`,
    });
    await p.addTinyBox();
    const r = await p.run(['up']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('good | good-done');
    expect(r.stderr).toContain('error (machine bad, step provision): provisioner `boom` exited with code 9');
    expect(r.stderr).toContain('error: 1 of 2 machine(s) failed: bad');
    expect(JSON.parse((await p.ok(['status', '--json'])).stdout)).toMatchObject([
      { name: 'good', state: 'running' },
      { name: 'bad', state: 'running' },
    ]);
    expect(JSON.parse((await p.ok(['plan', '--json'])).stdout)).toMatchObject({
      machines: [
        { machine: 'good', action: 'none' },
        { machine: 'bad', action: 'continue' },
      ],
    });
  });

  it('a guest that does not answer SSH in boot_timeout fails naming the machine and showing its console', async () => {
    const p = project({
      'Boxfile.yaml': 'version: 1\nmachines:\n  slow:\n    box: tiny\n    memory: 256\n    boot_timeout: 1\n',
    });
    await p.addTinyBox();
    const r = await p.run(['up']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error (machine slow, step wait-ssh): SSH did not answer');
    expect(r.stderr).toContain('last lines of its serial console');
    expect(r.stderr).toContain('boot_timeout');
    // Rolled back: no process, no disk, no state left for the half-created machine.
    expect(p.qemuPids()).toEqual([]);
    expect(existsSync(p.machine('slow').dir)).toBe(false);
  });
});
