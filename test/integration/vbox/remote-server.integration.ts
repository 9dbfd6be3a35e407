// `virtualbox.url` pointing at another host: a second vboxwebsrv of the same VirtualBox
// (scripts/vboxweb.sh remote) in a network namespace of its own at 10.78.0.2, reached over a veth
// pair, with TLS (a certificate for that address that no system trusts). boxfest reaches it only
// by that https URL; what it did is read back through the local server (same VBoxSVC). No kernel
// driver here, so `up` gets as far as the launch, as on the local server: the SOAP path over TLS
// at another address is what is proven (box medium opened, VM created and configured, launch
// failure reported, status, destroy), that an untrusted certificate is refused, never skipped,
// and that the credentials come from the environment: this server checks them (VBoxAuthSimple,
// set up by the script while the first server keeps `null`).
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { TestProject } from '../harness.js';
import { cleanServer, serverMachines } from './server.js';

const skipped = inject('vboxSkipped');
const SCRIPT = join(resolve(import.meta.dirname, '../../..'), 'scripts/vboxweb.sh');

const BOXFILE = (url: string) => `version: 1
provider: virtualbox
virtualbox: { url: ${url} }
machines:
  web: { box: tiny, memory: 256 }
`;

describe.skipIf(skipped)('a vboxwebsrv at another address, over TLS', () => {
  let p: TestProject;
  let url: string;
  let ca: string;
  // A password a shell or an XML document would mangle if it were ever pasted into one.
  const user = 'boxfest-remote';
  const password = `p'w"<&>$(x) ${randomBytes(6).toString('hex')}`;
  const as = (who: string, secret: string) => ({ BOXFEST_VBOX_USER: who, BOXFEST_VBOX_PASSWORD: secret });
  const trusting = (args: string[]) => p.run(args, { env: { BOXFEST_VBOX_CA: ca, ...as(user, password) } });
  const ours = async () =>
    (await serverMachines(p.home)).filter((m) => m.extraData['boxfest/project'] === p.root);

  beforeAll(async () => {
    const out = execFileSync('bash', [SCRIPT, 'remote'], {
      encoding: 'utf8',
      env: { ...process.env, BOXFEST_VBOXWEB_REMOTE_USER: user, BOXFEST_VBOXWEB_REMOTE_PASSWORD: password },
    });
    const kv = Object.fromEntries(
      out
        .trim()
        .split('\n')
        .map((l) => l.split('=', 2) as [string, string]),
    );
    url = kv['BOXFEST_VBOX_REMOTE_URL']!;
    ca = kv['BOXFEST_VBOX_REMOTE_CA']!;
    expect(url).toMatch(/^https:\/\/10\.78\.0\.2:\d+\/$/);
    p = new TestProject({ 'Boxfile.yaml': BOXFILE(url) }, { baseDir: inject('vboxShare') });
    await p.ok(['box', 'add', 'tiny', p.boxImage]);
  });

  afterAll(async () => {
    try {
      await trusting(['destroy', '--force']).catch(() => undefined);
      await cleanServer(p.home, p.base);
    } finally {
      execFileSync('bash', [SCRIPT, 'remote-stop'], { stdio: 'ignore' });
      await p.cleanup();
    }
  });

  it('an untrusted certificate is refused with what to do, and nothing is created', async () => {
    const r = await p.run(['up']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('[VBOX_TLS_UNTRUSTED]');
    expect(r.stderr).toContain(url);
    expect(r.stderr).toContain('BOXFEST_VBOX_CA');
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(await ours()).toEqual([]);
  });

  it('BOXFEST_VBOX_CA naming no certificate is a clear error', async () => {
    const r = await p.run(['status'], { env: { BOXFEST_VBOX_CA: join(p.root, 'Boxfile.yaml') } });
    expect(r.stderr).toContain('[VBOX_CA_UNREADABLE]');
    expect(r.stderr).toContain('holds no PEM certificate');
  });

  it.each([
    ['no credentials', '', ''],
    ['a wrong password', user, `${password}x`],
  ])(
    'the server checks the credentials from the environment: %s is refused, nothing created',
    async (_what, who, secret) => {
      const r = await p.run(['up'], { env: { BOXFEST_VBOX_CA: ca, ...as(who, secret) } });
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain('[VBOX_LOGON_FAILED]');
      expect(r.stderr).toContain('BOXFEST_VBOX_PASSWORD');
      expect(r.stderr).not.toContain(password);
      expect(await ours()).toEqual([]);
    },
  );

  it('with its certificate trusted, up creates and configures the VM there and gets as far as the launch', async () => {
    const r = await trusting(['up']);
    // No kernel driver on this machine: the launch is where every VirtualBox up ends here.
    expect(r.stderr).toContain('[VBOX_NO_KERNEL_DRIVER]');
    expect(r.stderr).toContain('step boot');
    const [vm, ...more] = await ours();
    expect(more).toEqual([]);
    expect(vm).toMatchObject({ memory: 256, extraData: { 'boxfest/machine': 'web' } });
    // SSH forwarded on the server's loopback, as on a local server.
    expect(vm!.nics[0]!.redirects.some((x) => x.startsWith('ssh,1,127.0.0.1,'))).toBe(true);
  });

  it('status reads the machine over the same TLS connection', async () => {
    const r = await trusting(['status', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const rows = JSON.parse(r.stdout) as { name: string; state: string; provider: string }[];
    expect(rows).toMatchObject([{ name: 'web', provider: 'virtualbox' }]);
    expect(rows[0]!.state).not.toBe('unknown');
  });

  it('destroy removes the VM from that server and keeps the box image', async () => {
    const r = await trusting(['destroy', '--force']);
    expect(r.code, r.stderr).toBe(0);
    expect(await ours()).toEqual([]);
    expect(existsSync(p.boxImage)).toBe(true);
  });
});
