// The VirtualBox tests talk only to the vboxwebsrv scripts/vboxweb.sh started: never to another
// server that happens to listen (a user's own on 18083 would get VMs created and removed on it).
import { execFileSync, spawnSync } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

const SCRIPT = join(resolve(import.meta.dirname, '../../..'), 'scripts/vboxweb.sh');
const skipped = inject('vboxSkipped');

/** PIDs listening on a TCP port, as the kernel reports them. */
function listeners(port: number): number[] {
  const out = execFileSync('ss', ['-Htlnp', `sport = :${port}`], { encoding: 'utf8' });
  return [...new Set([...out.matchAll(/pid=(\d+)/g)].map((m) => Number(m[1])))];
}

function listen(port: number): Promise<Server> {
  return new Promise((res, rej) => {
    const s = createServer((c) => c.end('HTTP/1.0 200 OK\r\n\r\nnot a vboxwebsrv\n'));
    s.once('error', rej);
    s.listen({ port, host: '127.0.0.1' }, () => res(s));
  });
}

describe.skipIf(skipped)('the tests use their own vboxwebsrv', () => {
  const url = new URL(inject('vboxUrl'));
  const pid = inject('vboxPid');
  const servers: Server[] = [];
  beforeAll(async () => {
    // A squatter on the port VirtualBox users run theirs on; nothing below may reach it.
    servers.push(await listen(18083).catch(() => listen(0)));
  });
  afterAll(() => servers.forEach((s) => s.close()));

  it('the URL handed to the tests is served by that PID alone, a vboxwebsrv rooted in the chroot', () => {
    expect(url.hostname).toBe('127.0.0.1');
    expect(listeners(Number(url.port))).toEqual([pid]);
    expect(readlinkSync(`/proc/${pid}/exe`)).toMatch(
      /^\/srv\/boxfest-vboxweb\/[0-9a-f]{12}\/usr\/lib\/virtualbox\/vboxwebsrv$/,
    );
    expect(readlinkSync(`/proc/${pid}/root`)).toMatch(/^\/srv\/boxfest-vboxweb\/[0-9a-f]{12}$/);
  });

  it('setup again finds that same server, not the one listening on 18083', () => {
    const r = spawnSync('bash', [SCRIPT, 'setup'], {
      encoding: 'utf8',
      env: { ...process.env, BOXFEST_VBOXWEB_PORT: '' },
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(`BOXFEST_VBOX_URL=${url.href}\n`);
    expect(r.stdout).toContain(`BOXFEST_VBOXWEB_PID=${pid}\n`);
    expect(r.stdout).toContain('BOXFEST_VBOXWEB_STARTED=0\n');
  });

  // Restarts the server (on the same port at the end, so the files after this one keep their URL).
  it('started again with 18083 taken by someone else: its own server on a free port; a taken port asked for is refused', async () => {
    const setup = (port: string) =>
      spawnSync('bash', [SCRIPT, 'setup'], {
        encoding: 'utf8',
        env: { ...process.env, BOXFEST_VBOXWEB_PORT: port },
      });
    const stop = () => expect(spawnSync('bash', [SCRIPT, 'stop']).status).toBe(0);
    const urlOf = (out: string) => new URL(/BOXFEST_VBOX_URL=(.*)/.exec(out)![1]!);
    const pidOf = (out: string) => Number(/BOXFEST_VBOXWEB_PID=(\d+)/.exec(out)![1]);
    stop();
    try {
      const fresh = setup('');
      expect(fresh.status, fresh.stderr).toBe(0);
      const freshUrl = urlOf(fresh.stdout);
      expect(freshUrl.port).not.toBe('18083');
      expect(listeners(Number(freshUrl.port))).toEqual([pidOf(fresh.stdout)]);
      expect(fresh.stdout).toContain('BOXFEST_VBOXWEB_STARTED=1\n');
      stop();
      const squatted = await listen(0);
      servers.push(squatted);
      const port = (squatted.address() as { port: number }).port;
      const taken = setup(String(port));
      expect(taken.status).toBe(1);
      expect(taken.stderr).toContain(`port ${port} is taken (by pid ${process.pid} )`);
      expect(taken.stdout).not.toContain('BOXFEST_VBOX_URL=');
    } finally {
      stop();
      const back = setup(url.port);
      expect(back.status, back.stderr).toBe(0);
      expect(urlOf(back.stdout).href).toBe(url.href);
    }
  }, 120_000);
});
