// A remote libvirt host over SSH (qemu+ssh, #16), for real: the private daemon's remote path
// (scripts/libvirtd.sh sshd: sshd -i per connection inside the daemon's namespaces, behind socat
// on 127.0.0.1 in its network namespace). boxfest's client speaks libvirt's RPC over a channel of
// one cached SSH connection per host; the host key is pinned on first contact into the boxfest
// home, or checked against ~/.ssh/known_hosts; a changed key is refused before anything is sent.
// A cloud-init seed is uploaded into its volume through it, as a remote machine's boot does.
// HOME and BOXFEST_HOME are temp directories here, so the user's own known_hosts is never read.
import { execFileSync } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { BoxfestError } from '../../../src/errors.js';
import { LibvirtClient } from '../../../src/providers/libvirt/client.js';
import { SEED_VOLUME_SUFFIX } from '../../../src/providers/libvirt/names.js';
import { isSeedVolume, putSeedVolume } from '../../../src/providers/libvirt/seed.js';
import { deleteVolume } from '../../../src/providers/libvirt/volumes.js';
import { homePaths } from '../../../src/state/paths.js';
import { closeRemoteHosts, forwardOut } from '../../../src/providers/libvirt/remote-host.js';
import { usableUri } from '../../../src/providers/libvirt/uri.js';
import { TestProject } from '../harness.js';
import { LIBVIRT, virsh } from '../targets.js';

const ROOT = resolve(import.meta.dirname, '../../..');

/** KEY=VALUE lines (values optionally in single quotes), as libvirtd.sh prints them. */
const parseEnv = (text: string): Record<string, string> =>
  Object.fromEntries(
    text
      .split('\n')
      .map((l) => /^([A-Z_]+)=(.*)$/.exec(l))
      .filter((m) => m !== null)
      .map((m) => [m[1]!, m[2]!.replace(/^'(.*)'$/, '$1')]),
  );

const uriOf = (text: string) => {
  const p = usableUri(text);
  if (!p.ok) throw new Error(`${text}: ${p.problem}`);
  return p.uri;
};

/** The error a promise rejects with. */
async function failure(p: Promise<unknown>): Promise<BoxfestError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(BoxfestError);
    return e as BoxfestError;
  }
  throw new Error('expected a failure');
}

describe('libvirt on a remote host over SSH', () => {
  const dir = inject('libvirtdDir');
  const tmp = mkdtempSync(join(tmpdir(), 'boxfest-lv-remote-'));
  const home = join(tmp, 'home');
  const boxfestHome = join(tmp, 'boxfest-home');
  const pins = homePaths(boxfestHome).knownHosts;
  let env: Record<string, string>;
  let uri: string;
  let hostKey: string;
  /** sshd's successful logins so far: one per SSH connection. */
  const logins = () =>
    (readFileSync(join(dir, 'ssh', 'sshd.log'), 'utf8').match(/Accepted publickey/g) ?? []).length;
  /** Another valid host key (ssh-keygen), not the daemon's. */
  const otherKey = () => {
    const f = join(tmp, `other-${randomBytes(4).toString('hex')}`);
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', f]);
    return readFileSync(`${f}.pub`, 'utf8').split(' ').slice(0, 2).join(' ');
  };
  const entry = () => `[127.0.0.1]:${env['LIBVIRTD_SSH_PORT']}`;

  beforeAll(() => {
    env = parseEnv(
      execFileSync('bash', [join(ROOT, 'scripts/libvirtd.sh'), 'sshd', dir], { encoding: 'utf8' }),
    );
    uri = env['LIBVIRTD_REMOTE_URI']!;
    hostKey = env['LIBVIRTD_SSH_HOST_KEY']!;
    expect(uri).toMatch(/^qemu\+ssh:\/\/root@127\.0\.0\.1:\d+\/system\?keyfile=\//);
    mkdirSync(join(home, '.ssh'), { recursive: true });
    // This worker's own process: the user's files are never read, nor their agent used.
    process.env['HOME'] = home;
    process.env['BOXFEST_HOME'] = boxfestHome;
    delete process.env['SSH_AUTH_SOCK'];
  });

  afterAll(() => {
    closeRemoteHosts();
    // The remote path stays up for the other remote files of this run (remote-lifecycle's guest
    // is reached through it); libvirtd.sh's `stop` at the end of the run ends its listeners.
    rmSync(tmp, { recursive: true, force: true });
  });

  it('first contact pins the host key; the client lists and defines real objects through it', async () => {
    const before = logins();
    const c = await LibvirtClient.open(uriOf(uri));
    try {
      expect(c.where).toContain(`ssh:root@127.0.0.1:${env['LIBVIRTD_SSH_PORT']}:/run/libvirt/libvirt-sock`);
      expect(await c.api.libVersion()).toBeGreaterThan(3_000_000);
      expect((await c.api.listAllNetworks()).map((n) => n.name)).toContain('default');
      expect(await c.api.poolIsActive(await c.api.lookupPool('default'))).toBe(true);
      // Defined over SSH, seen by virsh over the daemon's unix socket, removed over SSH.
      const name = `boxfest-remote-${randomBytes(3).toString('hex')}`;
      const net = await c.api.defineNetwork(`<network><name>${name}</name></network>`);
      expect(virsh('net-list', '--all', '--name')).toContain(name);
      await c.api.undefineNetwork(net);
      expect(virsh('net-list', '--all', '--name')).not.toContain(name);
    } finally {
      c.close();
    }
    expect(readFileSync(pins, 'utf8')).toBe(`${entry()} ${hostKey}\n`);
    expect(logins()).toBe(before + 1);
  });

  it('one SSH connection per host: a second client rides the cached one; a new process checks the pin', async () => {
    const before = logins();
    const a = await LibvirtClient.open(uriOf(uri));
    const b = await LibvirtClient.open(uriOf(uri));
    await Promise.all([a.api.libVersion(), b.api.libVersion()]);
    a.close();
    b.close();
    expect(logins()).toBe(before);
    closeRemoteHosts();
    const c = await LibvirtClient.open(uriOf(uri));
    await c.api.libVersion();
    c.close();
    expect(logins()).toBe(before + 1);
    expect(readFileSync(pins, 'utf8')).toBe(`${entry()} ${hostKey}\n`);
  });

  it('a changed host key is refused with the typed error, before anything is sent', async () => {
    closeRemoteHosts();
    const pinned = `${entry()} ${otherKey()}\n`;
    writeFileSync(pins, pinned);
    const before = logins();
    const e = await failure(LibvirtClient.open(uriOf(uri)));
    expect(e.code).toBe('SSH_HOST_HOSTKEY_MISMATCH');
    expect(e.message).toContain(`root@127.0.0.1:${env['LIBVIRTD_SSH_PORT']}`);
    expect(e.message).toContain(pins);
    expect(e.hint).toContain(`ssh-keygen -R '${entry()}' -f ${pins}`);
    expect(e.details).toMatch(/presented: ssh-ed25519 SHA256:/);
    // No login happened (no credential offered), and the pin was not replaced.
    expect(logins()).toBe(before);
    expect(readFileSync(pins, 'utf8')).toBe(pinned);
    writeFileSync(pins, `${entry()} ${hostKey}\n`);
  });

  it('~/.ssh/known_hosts wins when it lists the host (hashed entries too): right key, wrong key', async () => {
    closeRemoteHosts();
    const salt = randomBytes(20);
    const hashed = (key: string) =>
      `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update(entry()).digest('base64')} ${key}\n`;
    const known = join(home, '.ssh', 'known_hosts');
    writeFileSync(known, `# a comment\nother.example ${otherKey()}\n${hashed(hostKey)}`);
    rmSync(pins);
    const c = await LibvirtClient.open(uriOf(uri));
    await c.api.libVersion();
    c.close();
    expect(() => readFileSync(pins)).toThrow(/ENOENT/); // known there: nothing pinned
    closeRemoteHosts();
    writeFileSync(known, hashed(otherKey()));
    writeFileSync(pins, `${entry()} ${hostKey}\n`); // the pin agrees, but known_hosts is asked first
    const e = await failure(LibvirtClient.open(uriOf(uri)));
    expect(e.code).toBe('SSH_HOST_HOSTKEY_MISMATCH');
    expect(e.message).toContain(known);
    rmSync(known);
  });

  it.each([
    ['no streamlocal forwarding, no socket=: virt-ssh-helper', '', /\(virt-ssh-helper qemu:\/\/\/system\)/],
    [
      'no streamlocal forwarding, socket= named: nc',
      '&socket=/run/libvirt/libvirt-sock',
      /\(nc \/run\/libvirt\/libvirt-sock\)/,
    ],
  ])('the exec fallback when sshd refuses the socket channel: %s', async (_, extra, how) => {
    const u = `qemu+ssh://root@127.0.0.1:${env['LIBVIRTD_SSH_PORT_NO_STREAMLOCAL']}/system?keyfile=${env['LIBVIRTD_SSH_KEY']}${extra}`;
    writeFileSync(
      pins,
      `${entry()} ${hostKey}\n[127.0.0.1]:${env['LIBVIRTD_SSH_PORT_NO_STREAMLOCAL']} ${hostKey}\n`,
    );
    const c = await LibvirtClient.open(uriOf(u));
    try {
      expect(c.where).toMatch(how);
      expect((await c.api.listAllNetworks()).map((n) => n.name)).toContain('default');
    } finally {
      c.close();
    }
  });

  it.each<[string, () => string, string, RegExp]>([
    [
      'a key the host does not authorize',
      () => {
        const f = join(tmp, 'unauthorized');
        execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', f]);
        return `qemu+ssh://root@127.0.0.1:${env['LIBVIRTD_SSH_PORT']}/system?keyfile=${f}`;
      },
      'SSH_HOST_AUTH_FAILED',
      /root@127\.0\.0\.1:\d+ refused every key/,
    ],
    [
      'an encrypted key file (no passphrase is ever asked)',
      () => {
        const f = join(tmp, 'encrypted');
        execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'secret', '-f', f]);
        return `qemu+ssh://root@127.0.0.1:${env['LIBVIRTD_SSH_PORT']}/system?keyfile=${f}`;
      },
      'SSH_HOST_KEY',
      /cannot be used for root@127\.0\.0\.1/,
    ],
    [
      'no key at all: no keyfile=, no agent, no ~/.ssh/id_*',
      () => `qemu+ssh://root@127.0.0.1:${env['LIBVIRTD_SSH_PORT']}/system`,
      'SSH_HOST_NO_KEY',
      /no SSH key to log in to root@127\.0\.0\.1/,
    ],
    [
      'nothing listening',
      () => `qemu+ssh://root@127.0.0.1:1/system?keyfile=${env['LIBVIRTD_SSH_KEY']}`,
      'SSH_HOST_UNREACHABLE',
      /cannot reach the SSH server of root@127\.0\.0\.1:1$/,
    ],
    [
      'a daemon socket that does not exist (streamlocal refused, then nc fails)',
      () =>
        `qemu+ssh://root@127.0.0.1:${env['LIBVIRTD_SSH_PORT']}/system?keyfile=${env['LIBVIRTD_SSH_KEY']}&socket=/run/libvirt/nowhere-sock`,
      'LIBVIRT_CONNECTION_LOST',
      /\(nc \/run\/libvirt\/nowhere-sock\)/,
    ],
  ])('%s: a typed error naming the host', async (_, u, code, message) => {
    closeRemoteHosts();
    const e = await failure(LibvirtClient.open(uriOf(u())));
    expect(e.code).toBe(code);
    expect(e.message).toMatch(message);
    expect(e.hint).toBeTruthy();
  });

  it('forwardOut reaches a listener inside the host (an echo server on its br0 address)', async () => {
    // This test runs in the daemon's network namespace, as the sshd does: 10.99.0.1 is br0 there.
    const server = createServer((c) => c.pipe(c));
    await new Promise<void>((r) => server.listen(0, '10.99.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const peers: string[] = [];
    server.on('connection', (c) => peers.push(c.remoteAddress ?? ''));
    try {
      const ch = await forwardOut(uri, '10.99.0.1', port);
      const echoed = await new Promise<string>((res, rej) => {
        let got = '';
        ch.on('data', (d: Buffer) => {
          got += d.toString();
          if (got.length >= 5) res(got);
        });
        ch.on('error', rej);
        ch.write('hello');
      });
      ch.destroy();
      expect(echoed).toBe('hello');
      // The connection came from the host's side (sshd), not from this process directly.
      expect(peers).toEqual(['10.99.0.1']);
      const e = await failure(forwardOut(uri, '10.99.0.1', 1));
      expect(e.code).toBe('SSH_HOST_FORWARD_FAILED');
      expect(e.message).toMatch(/root@127\.0\.0\.1:\d+ cannot open a connection to 10\.99\.0\.1:1$/);
    } finally {
      server.close();
    }
  }, 30_000);

  it('an idle connection never keeps the process alive (no closeRemoteHosts in the script)', async () => {
    const out = join(tmp, 'exit-check.mjs');
    const entryFile = join(tmp, 'exit-check.ts');
    writeFileSync(
      entryFile,
      `import { LibvirtClient } from ${JSON.stringify(join(ROOT, 'src/providers/libvirt/client.ts'))};
import { usableUri } from ${JSON.stringify(join(ROOT, 'src/providers/libvirt/uri.ts'))};
const p = usableUri(process.argv[2]);
if (!p.ok) throw new Error(p.problem);
const c = await LibvirtClient.open(p.uri);
console.log(await c.api.libVersion());
`,
    );
    await build({
      entryPoints: [entryFile],
      outfile: out,
      bundle: true,
      format: 'esm',
      platform: 'node',
      external: ['ssh2'],
      logLevel: 'silent',
    });
    const t0 = Date.now();
    const stdout = execFileSync(process.execPath, [out, uri], {
      encoding: 'utf8',
      timeout: 20_000,
      env: { ...process.env, NODE_PATH: join(ROOT, 'node_modules') },
    });
    expect(Number(stdout.trim())).toBeGreaterThan(3_000_000);
    // It exits by itself: well within the 20 s timeout, and long before any keepalive.
    expect(Date.now() - t0).toBeLessThan(10_000);
  });

  it('per-call cost: ssh channel vs unix socket (printed)', async () => {
    const N = 300;
    const measure = async (text: string) => {
      const t0 = performance.now();
      const c = await LibvirtClient.open(uriOf(text));
      const open = performance.now() - t0;
      await c.api.libVersion();
      const t1 = performance.now();
      for (let i = 0; i < N; i++) await c.api.libVersion();
      const serial = (performance.now() - t1) / N;
      const t2 = performance.now();
      await Promise.all(Array.from({ length: N }, () => c.api.listAllNetworks()));
      const pipelined = (performance.now() - t2) / N;
      c.close();
      return { open, serial, pipelined };
    };
    closeRemoteHosts();
    const unix = await measure('qemu:///system');
    const sshCold = await measure(uri);
    const sshWarm = await measure(uri);
    const f = (n: number) => `${n.toFixed(3)} ms`;
    console.log(
      [
        `libvirt client, ${N} calls each:`,
        `  unix:          open ${f(unix.open)}, getLibVersion ${f(unix.serial)}/call, listAllNetworks pipelined ${f(unix.pipelined)}/call`,
        `  ssh (cold):    open ${f(sshCold.open)} (TCP + SSH handshake + channel), getLibVersion ${f(sshCold.serial)}/call, pipelined ${f(sshCold.pipelined)}/call`,
        `  ssh (cached):  open ${f(sshWarm.open)} (channel only), getLibVersion ${f(sshWarm.serial)}/call, pipelined ${f(sshWarm.pipelined)}/call`,
      ].join('\n'),
    );
    expect(sshWarm.open).toBeLessThan(sshCold.open);
  });

  it('`boxfest status --json` of a libvirt project on the remote host', async () => {
    const p = new TestProject(
      {
        'Boxfile.yaml': LIBVIRT.boxfile(
          `version: 1\nlibvirt:\n  uri: "${uri}"\nmachines:\n  web:\n    box: tiny\n    memory: 256\n`,
        ),
      },
      { env: { HOME: home }, home: boxfestHome },
    );
    try {
      const r = await p.run(['status', '--json']);
      expect(r.code, r.stderr + r.stdout).toBe(0);
      expect(JSON.parse(r.stdout)).toEqual([expect.objectContaining({ name: 'web', state: 'not_created' })]);
      // The same with a tampered pin: the host is not asked (its machines are `unknown`, with the
      // code), and `up` refuses them with it, nothing created.
      writeFileSync(pins, `${entry()} ${otherKey()}\n`);
      const bad = await p.run(['status', '--json']);
      expect(bad.code).toBe(0);
      expect(JSON.parse(bad.stdout)).toEqual([
        expect.objectContaining({
          name: 'web',
          state: 'unknown',
          error: expect.objectContaining({ code: 'SSH_HOST_HOSTKEY_MISMATCH' }) as unknown,
        }),
      ]);
      const up = await p.run(['up']);
      expect(up.code).toBe(1);
      expect(up.stderr).toContain('SSH_HOST_HOSTKEY_MISMATCH');
    } finally {
      writeFileSync(pins, `${entry()} ${hostKey}\n`);
      rmSync(p.base, { recursive: true, force: true });
    }
  });

  it("a cloud-init seed goes into its volume over SSH: made, rewritten, made anew at another size; another's never written", async () => {
    // The path a cloud-init machine's boot takes on a remote host (seed.ts), without booting one:
    // the bytes in the pool's file (read here, past the SSH connection) are each image's.
    closeRemoteHosts();
    const c = await LibvirtClient.open(uriOf(uri));
    const name = `boxfest-remote-${randomBytes(3).toString('hex')}${SEED_VOLUME_SUFFIX}`;
    const image = (sectors: number) => {
      const f = join(tmp, `seed-${randomBytes(3).toString('hex')}.iso`);
      writeFileSync(f, randomBytes(sectors * 2048));
      return f;
    };
    const pooled = () => readFileSync(virsh('vol-path', '--pool', 'default', name).trim());
    try {
      for (const [file, ours] of [
        [image(24), false], // the first boot: none there yet
        [image(24), true], // the next boot, same size: rewritten in place
        [image(26), true], // a bigger network-config: made anew
      ] as const) {
        await putSeedVolume(c, 'default', name, file, ours);
        expect(pooled().equals(readFileSync(file))).toBe(true);
      }
      expect(virsh('vol-dumpxml', '--pool', 'default', name)).toContain("<format type='raw'/>");
      // A volume of that name no domain tag lists: refused, left as it was.
      const before = pooled();
      const e = await failure(putSeedVolume(c, 'default', name, image(24), false));
      expect(e.code).toBe('LIBVIRT_NOT_OURS');
      expect(pooled().equals(before)).toBe(true);
      // destroy's by-name path takes it for a seed, and deletes it over SSH.
      expect(await deleteVolume(c, 'default', name, isSeedVolume)).toBe(true);
      expect(virsh('vol-list', 'default')).not.toContain(name);
    } finally {
      if (virsh('vol-list', 'default').includes(name)) virsh('vol-delete', '--pool', 'default', name);
      c.close();
    }
  });
});
