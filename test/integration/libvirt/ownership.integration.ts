// What boxfest never touches on a libvirt host, on the private libvirtd of this run: a domain
// named like one of its machines that it did not tag (up and destroy refuse, it stays as it was),
// and on destroy another project's tagged domain and its volume, and the box's volume below the
// machine's overlay. Then a fresh checkout (the Boxfile only, no .boxfest/): status, plan, halt,
// global-status and destroy find its machine from the domain's tag alone, halt ends its port
// forwarder (whose pidfile went with .boxfest/), and destroy leaves another project's running
// machine and the box volume. Checked with virsh, independently of boxfest's client.
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectName } from '../../../src/config/defaults.js';
import { domainXml } from '../../../src/providers/libvirt/domain-xml.js';
import { domainName } from '../../../src/providers/libvirt/names.js';
import { freePort } from '../../../src/network/ports.js';
import { isAlive } from '../../../src/state/process.js';
import { sha256, TestProject } from '../harness.js';
import { LIBVIRT, virsh } from '../targets.js';

const lines = (s: string) =>
  s
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
const domains = () => lines(virsh('list', '--all', '--name'));
const volumes = () => lines(virsh('vol-list', 'default')).map((l) => l.split(/\s+/)[0] ?? '');

describe('libvirt: what boxfest does not own survives', () => {
  const p = new TestProject(
    {
      'Boxfile.yaml': LIBVIRT.boxfile(`version: 1
defaults: { box: tiny, memory: 256 }
networks:
  backend: { type: private, cidr: 192.168.57.0/24 }
machines:
  web:
    networks: [{ network: backend, ip: 192.168.57.10 }]
  squatted:
    autostart: false
`),
    },
    { target: LIBVIRT },
  );
  const xmlDir = mkdtempSync(join(tmpdir(), 'boxfest-lv-own-'));
  const project = () => ({ name: projectName(p.root), root: p.root });
  const OTHER = 'boxfest-other-db-0badc0de';
  const OTHER_VOL = `${OTHER}.qcow2`;
  let squatter: string;
  const define = (name: string, xml: string) => {
    const file = join(xmlDir, `${name}.xml`);
    writeFileSync(file, xml);
    virsh('define', file);
  };

  beforeAll(async () => {
    await LIBVIRT.addBox(p);
    // Another project's machine: tagged by boxfest for /elsewhere, with a volume of its own.
    virsh('vol-create-as', 'default', OTHER_VOL, '16M', '--format', 'qcow2');
    define(
      OTHER,
      domainXml({
        name: OTHER,
        virtType: 'qemu',
        memoryMiB: 64,
        cpus: 1,
        disk: { pool: 'default', volume: OTHER_VOL, bus: 'virtio' },
        nics: [],
        serialLog: '/var/log/libvirt/qemu/other.log',
        owner: {
          project: '/elsewhere/other',
          machine: 'db',
          digest: 'b'.repeat(64),
          volumes: [{ pool: 'default', name: OTHER_VOL }],
          createdAt: new Date(0).toISOString(),
        },
      }),
    );
    // A domain with the name boxfest would give `squatted`, made by someone else (no tag).
    squatter = domainName(project(), 'squatted');
    define(
      squatter,
      `<domain type='qemu'><name>${squatter}</name><memory unit='MiB'>64</memory><os><type arch='x86_64'>hvm</type></os></domain>`,
    );
  });
  afterAll(async () => {
    for (const d of [OTHER, squatter]) {
      try {
        virsh('undefine', d);
      } catch {
        // already gone (the test failed before)
      }
    }
    try {
      virsh('vol-delete', '--pool', 'default', OTHER_VOL);
    } catch {
      // already gone
    }
    rmSync(xmlDir, { recursive: true, force: true });
    await p.cleanup();
  });

  it('up refuses a domain named like the machine that boxfest did not tag, and leaves it as it was', async () => {
    const before = virsh('dumpxml', squatter);
    const r = await p.run(['up', 'squatted']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`has a domain named ${squatter} that boxfest did not create for ${p.root}`);
    expect(r.stderr).toContain('boxfest never changes a domain it does not own');
    expect(virsh('dumpxml', squatter)).toBe(before);
  });

  it('destroy removes exactly what boxfest made; the other project, the squatter and the box volume stay', async () => {
    await p.ok(['up', 'web']);
    const ours = domainName(project(), 'web');
    expect(domains()).toEqual(expect.arrayContaining([ours, OTHER, squatter]));
    const boxImages = LIBVIRT.boxImages(p, 'tiny');
    expect(boxImages).toHaveLength(2); // the store's image and the pool's volume
    const boxSha = sha256(p.boxImage);
    const otherXml = virsh('dumpxml', OTHER);

    await p.ok(['destroy', '--force', 'web']);
    expect(domains()).not.toContain(ours);
    expect(volumes()).not.toContain(`${ours}.qcow2`);
    expect(LIBVIRT.networkInfra(p)).toEqual([]);
    // What survives: another project's domain (unchanged) and volume, the squatter, the box.
    expect(domains()).toEqual(expect.arrayContaining([OTHER, squatter]));
    expect(virsh('dumpxml', OTHER)).toBe(otherXml);
    expect(volumes()).toContain(OTHER_VOL);
    for (const image of boxImages) expect(sha256(image), image).toBe(boxSha);

    // Destroying everything refuses the squatter by name and still leaves it.
    const all = await p.run(['destroy', '--force']);
    expect(all.code).toBe(1);
    expect(all.stderr).toContain(squatter);
    expect(domains()).toEqual(expect.arrayContaining([OTHER, squatter]));
    expect(LIBVIRT.leftovers(p)).toEqual([`domain ${squatter}`]);
  });
});

const FORWARD = await freePort();

describe('libvirt: a fresh checkout finds its machine from the domain tag alone', () => {
  // a's machine forwards a port: its forwarder is a process of this host that .boxfest/ names.
  const boxfile = (memory: number, forward = '') =>
    LIBVIRT.boxfile(`version: 1\nmachines:\n  web:\n    box: tiny\n    memory: ${memory}\n${forward}`);
  const boxfileA = (memory: number) =>
    boxfile(memory, `    forwarded_ports: [{ guest: 22, host: ${FORWARD} }]\n`);
  // Two projects, each with a machine `web`, each with its own boxfest home (two checkouts).
  const a = new TestProject({ 'Boxfile.yaml': boxfileA(256) }, { target: LIBVIRT });
  const b = new TestProject({ 'Boxfile.yaml': boxfile(256) }, { target: LIBVIRT });
  const domainOf = (p: TestProject) => domainName({ name: projectName(p.root), root: p.root }, 'web');
  const json = async <T>(p: TestProject, args: string[]) => JSON.parse((await p.ok(args)).stdout) as T;
  const globalStatus = (p: TestProject) =>
    json<{ root: string; machines: unknown[] }[]>(p, ['global-status', '--json']).then((rows) =>
      rows
        // Other test files' projects run on the same daemon at the same time.
        .filter((r) => r.root === a.root || r.root === b.root)
        .sort((x, y) => (x.root < y.root ? -1 : 1)),
    );
  const row = (p: TestProject, state: string) => ({
    root: p.root,
    name: 'project',
    machines: [{ name: 'web', provider: 'libvirt', state }],
  });
  let boxImages: string[];
  let boxSha: string;
  let bPid: number;
  let forwarder: number;
  const bindable = (port: number) =>
    new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen({ host: '127.0.0.1', port, exclusive: true }, () => server.close(() => resolve(true)));
    });

  beforeAll(async () => {
    await Promise.all([LIBVIRT.addBox(a), LIBVIRT.addBox(b)]);
    await Promise.all([a.ok(['up']), b.ok(['up'])]);
    boxImages = LIBVIRT.boxImages(a, 'tiny');
    boxSha = sha256(a.boxImage);
    bPid = LIBVIRT.vmPid(b, 'web')!;
    forwarder = LIBVIRT.portHolderPid(a, 'web')!;
    // The fresh checkout: what `git clone` gives, the Boxfile only.
    rmSync(join(a.root, '.boxfest'), { recursive: true });
  });
  afterAll(async () => {
    await a.cleanup();
    await b.cleanup();
    // .boxfest/ is gone, so the harness cannot find a's machine if a test failed: by PID and name.
    if (forwarder !== undefined && isAlive(forwarder)) process.kill(forwarder, 'SIGKILL');
    for (const args of [['destroy'], ['undefine', '--snapshots-metadata']]) {
      try {
        virsh(args[0]!, domainOf(a), ...args.slice(1));
      } catch {
        // gone, as it should be
      }
    }
    try {
      virsh('vol-delete', '--pool', 'default', `${domainOf(a)}.qcow2`);
    } catch {
      // gone, as it should be
    }
  });

  it('status and plan find the running machine, and plan compares against what its tag recorded', async () => {
    expect(readdirSync(a.root)).toEqual(['Boxfile.yaml']);
    expect(LIBVIRT.vmPid(a, 'web')).toBeDefined();
    expect(forwarder).toBeDefined();
    expect(isAlive(forwarder)).toBe(true);
    expect(await bindable(FORWARD)).toBe(false);
    expect(await json(a, ['status', '--json'])).toEqual([
      {
        name: 'web',
        state: 'running',
        provider: 'libvirt',
        box: { name: 'tiny', version: null },
        networks: [],
        // No state says its last `up` finished: `up` would continue it, never create another.
        next: 'continue',
        changes: [],
      },
    ]);
    // What it was booted with comes from the tag: a changed memory is a reload, from 256 MiB.
    writeFileSync(join(a.root, 'Boxfile.yaml'), boxfileA(320));
    try {
      const plan = await json<{ machines: { action: string; changes: unknown[] }[] }>(a, ['plan', '--json']);
      expect(plan.machines).toMatchObject([
        {
          action: 'reload',
          changes: [{ field: 'memory', class: 'reload', from: 256, to: 320 }],
        },
      ]);
    } finally {
      writeFileSync(join(a.root, 'Boxfile.yaml'), boxfileA(256));
    }
  });

  it('halt shuts the machine down; the other project’s machine runs on', async () => {
    const pid = LIBVIRT.vmPid(a, 'web')!;
    await a.ok(['halt']);
    expect(isAlive(pid)).toBe(false);
    expect(virsh('domstate', domainOf(a)).trim()).toBe('shut off');
    // Its forwarder, found by its command line, is gone and its host port free: nothing of the
    // project runs on this host.
    expect(isAlive(forwarder)).toBe(false);
    expect(a.processesUsingProject()).toEqual([]);
    expect(await bindable(FORWARD)).toBe(true);
    expect(await json(a, ['status', '--json'])).toMatchObject([
      { name: 'web', state: 'halted', next: 'start' },
    ]);
    expect(LIBVIRT.vmPid(b, 'web')).toBe(bPid);
  });

  it('global-status lists both projects from their tags', async () => {
    expect(await globalStatus(a)).toEqual(
      [row(a, 'halted'), row(b, 'running')].sort((x, y) => (x.root < y.root ? -1 : 1)),
    );
  });

  it('destroy removes exactly its domain and overlay; the other project and the box volume stay', async () => {
    const before = volumes();
    const bXml = virsh('dumpxml', domainOf(b));
    expect(before).toEqual(expect.arrayContaining([`${domainOf(a)}.qcow2`, `${domainOf(b)}.qcow2`]));
    expect(readdirSync(LIBVIRT.boxUsersDir(a, 'tiny'))).toHaveLength(1);

    const r = await a.ok(['destroy', '--force', '--json']);
    expect(JSON.parse(r.stdout)).toMatchObject([{ name: 'web', ok: true }]);
    expect(domains()).not.toContain(domainOf(a));
    // Of the volumes this file knows (other files' come and go meanwhile), only a's overlay went.
    const known = (vs: string[]) =>
      vs.filter((v) => [`${domainOf(a)}.qcow2`, `${domainOf(b)}.qcow2`, basename(boxImages[1]!)].includes(v));
    expect(known(volumes()).sort()).toEqual(
      known(before)
        .filter((v) => v !== `${domainOf(a)}.qcow2`)
        .sort(),
    );
    expect(LIBVIRT.leftovers(a)).toEqual([]);
    // What survives: the other project's machine, running, unchanged, on its overlay; the box.
    expect(LIBVIRT.vmPid(b, 'web')).toBe(bPid);
    expect(virsh('dumpxml', domainOf(b))).toBe(bXml);
    expect(volumes()).toContain(`${domainOf(b)}.qcow2`);
    expect(boxImages).toHaveLength(2); // the store's image and the pool's volume
    for (const image of boxImages) expect(sha256(image), image).toBe(boxSha);
    // Nothing of the project is left: no .boxfest/, no record of the machine in the box store.
    expect(readdirSync(a.root)).toEqual(['Boxfile.yaml']);
    expect(
      existsSync(LIBVIRT.boxUsersDir(a, 'tiny')) ? readdirSync(LIBVIRT.boxUsersDir(a, 'tiny')) : [],
    ).toEqual([]);
    expect(await json(a, ['status', '--json'])).toMatchObject([{ name: 'web', state: 'not_created' }]);
    expect(await globalStatus(a)).toEqual([row(b, 'running')]);
  });
});
