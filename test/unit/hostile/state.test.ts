// Broken, hostile and racing state under .boxfest/ and the boxfest home, reproduced one by one:
// each case asserts the exact error or the exact outcome, what must survive, and that nothing
// outside the test's own directories changed. No guest is needed: a halted machine is its
// state.json and its disk; the processes involved are real ones started here.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { registerProject } from '../../../src/state/index.js';
import { startTicksOf } from '../../../src/state/process.js';
import { boxfest, expectNoCrash, fingerprint, sandbox, write, type Sandbox } from './harness.js';

const BOXFILE = 'version: 1\nmachines:\n  web:\n    box: tiny\n    autostart: false\n';

/** A state.json as boxfest writes it, for a halted machine of `project`. */
function state(project: string, over: Record<string, unknown> = {}): string {
  return (
    JSON.stringify({
      provider: 'qemu',
      project,
      createdAt: '2026-01-01T00:00:00.000Z',
      box: { name: 'tiny', version: '0', image: '/nowhere/box.qcow2' },
      applied: { box: 'tiny', cpus: 1, memory: 256, hostname: 'web' },
      sshUser: 'root',
      keyReplaced: true,
      converged: true,
      provisioned: [],
      ...over,
    }) + '\n'
  );
}

/** A project with machine `web` created and halted (its state and its disk). */
function withMachine(name = 'web', extra: Record<string, string> = {}): Sandbox {
  const s = sandbox({ 'project/Boxfile.yaml': BOXFILE, ...extra });
  write(s.project, `.boxfest/machines/${name}/state.json`, state(s.project));
  write(s.project, `.boxfest/machines/${name}/disk.qcow2`, 'QFI\xfb overlay\n');
  return s;
}

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

/** A live process whose command line holds ARGV (node idling, with ARGV after `--`). */
function sleeper(...argv: string[]): ChildProcess {
  const c = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1e6)', '--', ...argv], { stdio: 'ignore' });
  children.push(c);
  return c;
}

/** The sandbox but its boxfest home (where the validation cache may be written). */
const outsideHome = (s: Sandbox) => ({ project: fingerprint(s.project), outside: fingerprint(s.outside) });

const alive = (c: ChildProcess) => c.exitCode === null && c.signalCode === null;

const UNSAFE_HINT = (path: string) =>
  `  hint: remove the link (\`rm ${path}\`; what it points to is left alone), then run the command again\n`;

describe('symlinks where boxfest keeps its state: an error naming the path, nothing removed', () => {
  // [what is a link, where the link goes (relative to the sandbox), the command]
  const cases: [string, string, string, string[]][] = [
    ['.boxfest', '.boxfest', 'outside/.boxfest', ['destroy', '--force']],
    ['.boxfest (status)', '.boxfest', 'outside/.boxfest', ['status']],
    ['.boxfest (up)', '.boxfest', 'outside/.boxfest', ['up']],
    ['.boxfest/machines', '.boxfest/machines', 'outside/.boxfest/machines', ['destroy', '--force']],
    ['a machine directory', '.boxfest/machines/web', 'outside/.boxfest/machines/web', ['destroy', '--force']],
    ['a machine directory (halt)', '.boxfest/machines/web', 'outside/.boxfest/machines/web', ['halt']],
    [
      'a directory named like an orphan',
      '.boxfest/machines/ghost',
      'outside/.boxfest/machines/web',
      ['destroy', '--force'],
    ],
    ['.boxfest/networks', '.boxfest/networks', 'outside', ['destroy', '--force']],
    ['a network directory', '.boxfest/networks/lab', 'outside', ['status']],
    ['a machine disk', '.boxfest/machines/web/disk.qcow2', 'outside/precious.txt', ['destroy', '--force']],
    [
      'a state.json',
      '.boxfest/machines/web/state.json',
      'outside/.boxfest/machines/web/state.json',
      ['plan'],
    ],
    ['the lock', '.boxfest/lock', 'outside/precious.txt', ['status']],
  ];
  it.each(cases)('%s', async (_, link, target, argv) => {
    const s = sandbox({ 'project/Boxfile.yaml': BOXFILE });
    mkdirSync(join(s.project, link, '..'), { recursive: true });
    if (link === '.boxfest/machines/web/disk.qcow2')
      write(s.project, '.boxfest/machines/web/state.json', state(s.project));
    symlinkSync(join(s.base, target), join(s.project, link));
    const outside = fingerprint(s.outside);
    const project = fingerprint(s.project);
    const r = await boxfest(s.project, ...argv);
    const path = join(s.project, link);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `error: ${path} is a symbolic link (to ${join(s.base, target)}); boxfest keeps its state in real files and directories and never follows a link out of the project [PROJECT_STATE_UNSAFE]\n` +
        UNSAFE_HINT(path),
    );
    expect(fingerprint(s.outside)).toEqual(outside);
    expect(fingerprint(s.project)).toEqual(project);
  });
});

describe('a .boxfest that is not a directory', () => {
  it.each([
    ['.boxfest', ['status']],
    ['.boxfest', ['destroy', '--force']],
    ['.boxfest/machines', ['destroy', '--force']],
    ['.boxfest/networks', ['up']],
  ])('%s is a file: %j is an error naming it, the file is kept', async (file, argv) => {
    const s = sandbox({ 'project/Boxfile.yaml': BOXFILE, [`project/${file}`]: 'a user file\n' });
    const before = outsideHome(s);
    const r = await boxfest(s.project, ...argv);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `error: ${join(s.project, file)} is not a directory, where boxfest keeps its state [PROJECT_STATE_UNSAFE]\n` +
        '  hint: move it out of the way; boxfest creates .boxfest/ and what is in it by itself\n',
    );
    expect(outsideHome(s)).toEqual(before);
  });
});

describe('only a real directory with a well-formed state.json is an orphan machine', () => {
  it.each<[string, (s: Sandbox) => void, string]>([
    [
      'no state.json',
      (s) => write(s.project, '.boxfest/machines/ghost/notes.txt', 'mine\n'),
      'it has no state.json',
    ],
    [
      'a state.json of another shape',
      (s) => write(s.project, '.boxfest/machines/ghost/state.json', '{"provider":"qemu"}\n'),
      `${'{P}'}/.boxfest/machines/ghost/state.json is not a usable machine state: \`project\` is missing`,
    ],
    [
      'a state.json that is not JSON',
      (s) => write(s.project, '.boxfest/machines/ghost/state.json', 'hello\n'),
      `${'{P}'}/.boxfest/machines/ghost/state.json is not a usable machine state: it is not JSON (Unexpected token 'h', "hello\n" is not valid JSON)`,
    ],
  ])('%s: destroy leaves it and says why', async (_, make, why) => {
    const s = withMachine();
    make(s);
    const ghost = fingerprint(join(s.project, '.boxfest/machines/ghost'));
    const outside = fingerprint(s.outside);
    const r = await boxfest(s.project, 'destroy', '--force');
    expectNoCrash(r);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(
      `${join(s.project, '.boxfest/machines')}/ghost: not a machine boxfest made (${why.replace('{P}', s.project)}); left alone\n`,
    );
    // web (a machine boxfest made) is gone; ghost is exactly as it was.
    expect(readdirSync(join(s.project, '.boxfest/machines'))).toEqual(['ghost']);
    expect(fingerprint(join(s.project, '.boxfest/machines/ghost'))).toEqual(ghost);
    expect(fingerprint(s.outside)).toEqual(outside);
  });

  it('a file, or a directory whose name is no machine name, is never listed or removed', async () => {
    const s = withMachine();
    write(s.project, '.boxfest/machines/README', 'not a machine\n');
    write(s.project, '.boxfest/machines/Not_A_Name/state.json', state(s.project));
    const outside = fingerprint(s.outside);
    const status = JSON.parse((await boxfest(s.project, 'status', '--json')).stdout) as { name: string }[];
    expect(status.map((m) => m.name)).toEqual(['web']);
    const r = await boxfest(s.project, 'destroy', '--force');
    expect(r.code).toBe(0);
    expect(readdirSync(join(s.project, '.boxfest/machines')).sort()).toEqual(['Not_A_Name', 'README']);
    expect(fingerprint(s.outside)).toEqual(outside);
  });

  it('an orphan named explicitly that is not a machine is an error, and stays', async () => {
    const s = withMachine();
    write(s.project, '.boxfest/machines/ghost/state.json', '[]\n');
    const before = outsideHome(s);
    const r = await boxfest(s.project, 'destroy', 'ghost', '--force');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('no machine named `ghost`');
    expect(outsideHome(s)).toEqual(before);
  });
});

describe('a state.json boxfest cannot read', () => {
  const cases: [string, string, string][] = [
    ['truncated', '{"provider": "qe', 'it is not JSON (Unterminated string in JSON at position 16)'],
    ['empty', '', 'it is empty'],
    ['a list', '[]\n', 'it is not a JSON object'],
    ['missing a field', state('/p').replace('"sshUser":"root",', ''), '`sshUser` is missing'],
    ['a field of the wrong type', state('/p', { converged: 'yes' }), '`converged` is not a boolean'],
    ['an unknown provider', state('/p', { provider: 'vmware' }), '`provider` is not one boxfest knows'],
  ];

  it.each(cases)('%s: status names the file and what to do, no stack trace', async (_, text, why) => {
    const s = withMachine();
    write(s.project, '.boxfest/machines/web/state.json', text);
    const before = outsideHome(s);
    const r = await boxfest(s.project, 'status');
    expect(r.code).toBe(1);
    const file = join(s.project, '.boxfest/machines/web/state.json');
    expect(r.stderr).toBe(
      `error: ${file} is not a usable machine state: ${why} [STATE_CORRUPT]\n` +
        '  hint: boxfest cannot tell what this machine is; `boxfest destroy web --force` removes what boxfest can prove it made for it (its disk, its running QEMU), or put back a good copy of the file\n',
    );
    expect(outsideHome(s)).toEqual(before);
  });

  it.each(cases)('%s: destroy --force removes what boxfest made for the machine', async (_, text) => {
    const s = withMachine();
    write(s.project, '.boxfest/machines/web/state.json', text);
    const outside = fingerprint(s.outside);
    const r = await boxfest(s.project, 'destroy', '--force', '--json');
    expectNoCrash(r);
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.stdout) as { step_seconds?: Record<string, number> }[];
    expect(rows).toMatchObject([{ name: 'web', ok: true, steps: ['destroy'] }]);
    expect(Object.keys(rows[0]!.step_seconds ?? {})).toEqual(['destroy']);
    expect(existsSync(join(s.project, '.boxfest'))).toBe(false);
    expect(fingerprint(s.outside)).toEqual(outside);
  });

  it('destroy --force ends the process whose command line names the disk, and no other', async () => {
    const s = withMachine();
    write(s.project, '.boxfest/machines/web/state.json', 'garbage');
    const disk = join(s.project, '.boxfest/machines/web/disk.qcow2');
    const qemu = sleeper('qemu-system-x86_64', '-drive', `if=none,id=disk0,file=${disk},format=qcow2`);
    write(s.project, '.boxfest/machines/web/qemu.pid', `${qemu.pid}\n`);
    // Another program whose command line does not name the disk: it must live on.
    const bystander = sleeper(
      'qemu-system-x86_64',
      '-drive',
      `file=${join(s.outside, '.boxfest/machines/web/disk.qcow2')}`,
    );
    const outside = fingerprint(s.outside);
    const r = await boxfest(s.project, 'destroy', '--force');
    expect(r.code).toBe(0);
    await new Promise((res) => setTimeout(res, 100));
    expect(alive(qemu)).toBe(false);
    expect(alive(bystander)).toBe(true);
    expect(existsSync(disk)).toBe(false);
    expect(fingerprint(s.outside)).toEqual(outside);
  });

  it("a pidfile naming someone else's process (a reused PID) never gets it killed", async () => {
    const s = withMachine();
    write(s.project, '.boxfest/machines/web/state.json', 'garbage');
    const other = sleeper('an-unrelated-program', '--its', 'own', 'args');
    write(s.project, '.boxfest/machines/web/qemu.pid', `${other.pid}\n`);
    const outside = fingerprint(s.outside);
    const r = await boxfest(s.project, 'destroy', '--force');
    expect(r.code).toBe(0);
    expect(alive(other)).toBe(true);
    expect(existsSync(join(s.project, '.boxfest'))).toBe(false);
    expect(fingerprint(s.outside)).toEqual(outside);
  });
});

describe('corrupt records beside the machines', () => {
  const NET = [
    'version: 1',
    'networks:',
    '  lab: { type: private, cidr: 192.168.77.0/24, dhcp: true }',
    'machines:',
    '  web: { box: tiny, networks: [{ network: lab }] }',
    '',
  ].join('\n');

  it.each([
    ['garbage', 'garbage', 'it is not JSON (Unexpected token \'g\', "garbage" is not valid JSON)'],
    ['a list', '[]', 'it is not a JSON object'],
    ['an address that is not one', '{"web":"../../etc"}', "a machine's address is not an IPv4 address"],
  ])('leases.json that is %s: up names it before any machine starts', async (_, text, why) => {
    const s = sandbox({ 'project/Boxfile.yaml': NET, 'project/.boxfest/networks/lab/leases.json': text });
    const outside = fingerprint(s.outside);
    const r = await boxfest(s.project, 'up');
    const file = join(s.project, '.boxfest/networks/lab/leases.json');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `error: ${file} is not a usable address leases file: ${why} [LEASES_CORRUPT]\n` +
        '  hint: remove it: the next `up` allocates the addresses again (the same ones: lowest free first, in Boxfile order); running machines keep theirs until they are reloaded\n',
    );
    expect(readdirSync(join(s.project, '.boxfest'))).toEqual(['networks']);
    expect(fingerprint(s.outside)).toEqual(outside);
  });

  it('a corrupt leases.json does not stop destroy: the machine goes, the file is named', async () => {
    const s = withMachine('web', { 'project/Boxfile.yaml': NET });
    write(s.project, '.boxfest/networks/lab/leases.json', '{oops');
    const outside = fingerprint(s.outside);
    const r = await boxfest(s.project, 'destroy', '--force');
    expect(r.code).toBe(0);
    expect(r.stdout + r.stderr).toContain(
      `${join(s.project, '.boxfest/networks/lab/leases.json')} is not a usable address leases file`,
    );
    expect(existsSync(join(s.project, '.boxfest/machines'))).toBe(false);
    expect(fingerprint(s.outside)).toEqual(outside);
  });

  it('a corrupt ports.json in the home: up names it before any machine starts', async () => {
    const s = sandbox({
      'project/Boxfile.yaml':
        'version: 1\nmachines:\n  web: { box: tiny, forwarded_ports: [{ guest: 80, host: 18080 }] }\n',
      'home/ports.json': '{"not": "a list"}',
    });
    const outside = fingerprint(s.outside);
    const r = await boxfest(s.project, 'up');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `error: ${join(s.home, 'ports.json')} is not a usable record of forwarded host ports: it is not a JSON list [PORTS_CORRUPT]\n` +
        '  hint: remove it: it only names which boxfest machines hold host ports, and running machines are found again by the ports they bind\n',
    );
    expect(fingerprint(s.outside)).toEqual(outside);
    expect(existsSync(join(s.project, '.boxfest/machines'))).toBe(false);
    expect(readFileSync(join(s.home, 'ports.json'), 'utf8')).toBe('{"not": "a list"}');
  });
});

describe('the project lock', () => {
  it('held by a live process: destroy chooses nothing before it has the lock', async () => {
    const s = sandbox({ 'project/Boxfile.yaml': BOXFILE });
    // An `up` that is creating the machine right now: nothing on disk yet, the lock held.
    const holder = sleeper('boxfest', 'up');
    write(
      s.project,
      '.boxfest/lock',
      JSON.stringify({
        pid: holder.pid,
        start: startTicksOf(holder.pid!),
        command: 'up',
        since: 'now',
        token: 'ab',
      }),
    );
    const before = outsideHome(s);
    const r = await boxfest(s.project, 'destroy', '--force');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `error: another boxfest is working on this project: pid ${holder.pid} running \`up\` since now [PROJECT_LOCKED]\n` +
        '  hint: wait for it to finish, or stop it; a lock left by a dead process is taken over automatically\n',
    );
    expect(outsideHome(s)).toEqual(before);
    expect(alive(holder)).toBe(true);
  });

  it('left empty and old by a crash: the next command takes it over', async () => {
    const s = withMachine();
    write(s.project, '.boxfest/lock', '');
    const old = Date.now() / 1000 - 60;
    utimesSync(join(s.project, '.boxfest/lock'), old, old);
    const outside = fingerprint(s.outside);
    const r = await boxfest(s.project, 'halt');
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('web: not running\n');
    expect(existsSync(join(s.project, '.boxfest/lock'))).toBe(false);
    expect(fingerprint(s.outside)).toEqual(outside);
  });

  it('naming a live process by PID with another start time (a reused PID): taken over', async () => {
    const s = withMachine();
    const reused = sleeper('something', 'else');
    write(
      s.project,
      '.boxfest/lock',
      JSON.stringify({ pid: reused.pid, start: 1, command: 'up', since: 'then', token: 'cd' }),
    );
    const outside = fingerprint(s.outside);
    expect((await boxfest(s.project, 'halt')).code).toBe(0);
    expect(alive(reused)).toBe(true);
    expect(existsSync(join(s.project, '.boxfest/lock'))).toBe(false);
    expect(fingerprint(s.outside)).toEqual(outside);
  });
});

describe('a Boxfile.yaml the search must not walk past', () => {
  it('a dangling Boxfile.yaml link in a subproject: destroy fails there, the parent keeps its machine', async () => {
    // The parent project (with a machine) is the sandbox's project; the child is inside it.
    const s = withMachine();
    mkdirSync(join(s.project, 'child'));
    symlinkSync('gone.yaml', join(s.project, 'child/Boxfile.yaml'));
    const before = outsideHome(s);
    const r = await boxfest(join(s.project, 'child'), 'destroy', '--force');
    expect(r.code).toBe(1);
    expect(r.stderr.split('\n')[0]).toBe(
      `error: ${join(s.project, 'child/Boxfile.yaml')} is a symbolic link to nothing (its target does not exist) [BOXFILE_NOT_A_FILE]`,
    );
    expect(outsideHome(s)).toEqual(before);
  });
});

describe('global-status with one project boxfest cannot read', () => {
  /** Registers `root` in the home's index, as `up` does. */
  function register(s: Sandbox, root: string): void {
    writeFileSync(join(root, 'Boxfile.yaml'), BOXFILE);
    registerProject(s.home, root, 'p');
  }

  it.each<[string, (root: string, s: Sandbox) => void, string]>([
    [
      'a symlinked .boxfest',
      (root, s) => symlinkSync(join(s.outside, '.boxfest'), join(root, '.boxfest')),
      'is a symbolic link',
    ],
    [
      'a corrupt state.json',
      (root) => write(root, '.boxfest/machines/db/state.json', '{"half'),
      'is not a usable machine state',
    ],
  ])('%s: that project is listed as broken, the others as they are', async (_, breakIt, why) => {
    const s = withMachine();
    const bad = join(s.base, 'bad');
    mkdirSync(bad);
    register(s, s.project);
    register(s, bad);
    breakIt(bad, s);
    const outside = fingerprint(s.outside);
    const r = await boxfest(s.project, 'global-status', '--json');
    expectNoCrash(r);
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.stdout) as {
      root: string;
      broken?: string;
      machines: { name: string; state: string; reason?: string }[];
    }[];
    const good = rows.find((p) => p.root === s.project);
    expect(good?.machines).toEqual([{ name: 'web', provider: 'qemu', state: 'halted' }]);
    const broken = rows.find((p) => p.root === bad);
    expect(JSON.stringify(broken)).toContain(why);
    expect(fingerprint(s.outside)).toEqual(outside);
  });
});

describe('ssh-config prints only what cannot change the config it is appended to', () => {
  const withSsh = (over: Record<string, unknown>) => {
    const s = withMachine();
    write(
      s.project,
      '.boxfest/machines/web/state.json',
      state(s.project, { sshPort: 2222, hostKey: 'ssh-ed25519 AAAA', ...over }),
    );
    return s;
  };

  it('quotes every value it prints', async () => {
    const s = withSsh({});
    const before = outsideHome(s);
    const r = await boxfest(s.project, 'ssh-config');
    const dir = join(s.project, '.boxfest/machines/web');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      [
        'Host "boxfest-project-web"',
        '  HostName "127.0.0.1"',
        '  Port 2222',
        '  User "root"',
        `  IdentityFile "${dir}/id_ed25519"`,
        '  IdentitiesOnly yes',
        `  UserKnownHostsFile "${dir}/known_hosts"`,
        '  HostKeyAlias "boxfest-project-web"',
        '  StrictHostKeyChecking yes',
        '  PasswordAuthentication no',
        '  BatchMode yes',
        '  LogLevel ERROR',
        '',
      ].join('\n'),
    );
    expect(outsideHome(s)).toEqual(before);
  });

  it.each<[string, Record<string, unknown>, string]>([
    [
      'a user with a newline and a ProxyCommand',
      { sshUser: 'root\nProxyCommand sh -c evil' },
      'its SSH user "root\\nProxyCommand sh -c evil"',
    ],
    ['a user with a quote', { sshUser: 'a"b' }, 'its SSH user "a\\"b"'],
    ['a port that is not one', { sshPort: 22.5 }, 'its SSH port "22.5"'],
    [
      'a host with a newline',
      { sshHost: '10.0.0.5\nProxyCommand evil' },
      'its SSH host "10.0.0.5\\nProxyCommand evil"',
    ],
  ])('a state.json with %s: refused, nothing printed', async (_, over, what) => {
    const s = withSsh(over);
    const before = outsideHome(s);
    const r = await boxfest(s.project, 'ssh-config');
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.split('\n')[0]).toBe(
      `error (machine web): machine \`web\`: ${what} cannot be written into an OpenSSH config safely [SSH_CONFIG_UNSAFE]`,
    );
    expect(outsideHome(s)).toEqual(before);
  });

  it('a project under a directory whose name has a newline: refused', async () => {
    const s = sandbox();
    const project = join(s.base, 'evil\nHost *\n  ProxyCommand x');
    mkdirSync(project);
    writeFileSync(join(project, 'Boxfile.yaml'), BOXFILE);
    write(
      project,
      '.boxfest/machines/web/state.json',
      state(project, { sshPort: 2222, hostKey: 'ssh-ed25519 AAAA' }),
    );
    const before = { project: fingerprint(project), outside: fingerprint(s.outside) };
    const r = await boxfest(project, 'ssh-config');
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('its key path "');
    expect(r.stderr).toContain('[SSH_CONFIG_UNSAFE]');
    expect({ project: fingerprint(project), outside: fingerprint(s.outside) }).toEqual(before);
  });
});

describe('box add refuses what would leave a half-made box or an unsafe one', () => {
  /** A real (tiny) qcow2 image. */
  function image(s: Sandbox): string {
    const file = join(s.outside, 'tiny.qcow2');
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', file, '1M']);
    return file;
  }

  it('an --ssh-key that is a directory: a clear error, nothing in the store', async () => {
    const s = sandbox();
    const img = image(s);
    mkdirSync(join(s.outside, 'keys'));
    const before = fingerprint(s.outside);
    const r = await boxfest(s.project, 'box', 'add', 'tiny', img, '--ssh-key', join(s.outside, 'keys'));
    expect(r.code).toBe(1);
    expect(r.stderr.split('\n')[0]).toBe(
      `error: no key file at ${join(s.outside, 'keys')} [BOX_KEY_MISSING]`,
    );
    expect(existsSync(join(s.home, 'boxes'))).toBe(false);
    expect(fingerprint(s.outside)).toEqual(before);
  });

  it.each<[string, number]>([
    ['root\nProxyCommand evil', 1],
    ['a b', 1],
    ['', 1],
    ['-oProxyCommand=x', 2], // read as an option: a usage error
  ])('an --ssh-user %j is refused', async (user, code) => {
    const s = sandbox();
    const img = image(s);
    const outside = fingerprint(s.outside);
    const r = await boxfest(s.project, 'box', 'add', 'tiny', img, '--ssh-user', user);
    expect(r.code).toBe(code);
    if (code === 1)
      expect(r.stderr.split('\n')[0]).toMatch(/is not a user name boxfest can log in as \[BOX_SSH_USER\]$/);
    expect(existsSync(join(s.home, 'boxes'))).toBe(false);
    expect(fingerprint(s.outside)).toEqual(outside);
  });

  it('string options are taken as written: `--name 007` names the box 007, not 7', async () => {
    const s = sandbox();
    const img = image(s);
    const outside = fingerprint(s.outside);
    const r = await boxfest(s.project, 'box', 'add', img, '--name', '007', '--json');
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as { name: unknown }).name).toBe('007');
    expect(fingerprint(s.outside)).toEqual(outside);
  });
});

describe('box images and names that reach outside the store', () => {
  it.each<[string, (s: Sandbox) => [string, string]]>([
    [
      'a qcow2 whose data_file is a host file',
      (s) => {
        const img = join(s.base, 'evil.qcow2');
        const secret = join(s.outside, 'precious.txt');
        execFileSync('qemu-img', [
          'create',
          '-q',
          '-f',
          'qcow2',
          '-o',
          `data_file=${secret},data_file_raw=on`,
          img,
          '1M',
        ]);
        return [img, `data-file: ${secret}`];
      },
    ],
    [
      'a qcow2 backed by a host file',
      (s) => {
        const base = join(s.base, 'base.qcow2');
        execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', base, '1M']);
        const img = join(s.base, 'backed.qcow2');
        execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', base, img]);
        return [img, `backing-filename: ${base}`];
      },
    ],
  ])('%s: box add refuses it with the reason, nothing stored', async (_, make) => {
    const s = sandbox();
    const [img, why] = make(s);
    const outside = fingerprint(s.outside);
    const r = await boxfest(s.project, 'box', 'add', 'evil', img);
    expectNoCrash(r);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('refers to files outside itself');
    expect(r.stderr).toContain(why);
    expect(r.stderr).toContain('[BOX_EXTERNAL_REFERENCE]');
    expect(readdirSync(join(s.home, 'boxes')).filter((e) => e !== '.staging' && e !== 'lock')).toEqual([]);
    expect(fingerprint(s.outside)).toEqual(outside);
  });

  it.each(['../../outside', '../outside/.boxfest', '..', '/tmp'])(
    'box remove %j --force: a name error, nothing removed',
    async (name) => {
      const s = sandbox();
      const outside = fingerprint(s.outside);
      const project = fingerprint(s.project);
      const r = await boxfest(s.project, 'box', 'remove', name, '--force');
      expectNoCrash(r);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('[BOX_NAME]');
      expect(fingerprint(s.outside)).toEqual(outside);
      expect(fingerprint(s.project)).toEqual(project);
    },
  );
});
