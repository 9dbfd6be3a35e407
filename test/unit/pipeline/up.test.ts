// The `up` pipeline on the in-memory provider: for each plan action, which steps run (the others
// skip themselves) and which roll back when the machine fails after its boot. Real steps, real
// state files, a real box store and the real runner; the steps that talk to the guest over SSH
// (covered by the integration tests on real guests) only record that they ran, or fail on demand.
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { commitBox } from '../../../src/boxes/store.js';
import { orphanSpecs } from '../../../src/commands/orphans.js';
import { jobsSummary } from '../../../src/commands/output.js';
import type { MachineSpec } from '../../../src/config/types.js';
import { BoxfestError } from '../../../src/errors.js';
import { CAPABILITIES } from '../../../src/providers/capabilities.js';
import { newMachineRun, type MachineRun } from '../../../src/pipeline/machine-run.js';
import { runJobs, type JobResult } from '../../../src/pipeline/runner.js';
import type { Step } from '../../../src/pipeline/step.js';
import { upSteps } from '../../../src/commands/up.js';
import { upPipeline } from '../../../src/pipeline/up.js';
import { reconcile, type Observed, type UpAction } from '../../../src/plan/reconcile.js';
import { readMachineState, updateMachineState } from '../../../src/state/machine-state.js';
import { boxPaths, machinePaths } from '../../../src/state/paths.js';
import { environment, spec, tempDir } from '../helpers.js';
import { FakeProvider } from './fake-provider.js';

/** Steps that work inside the guest over SSH. */
const GUEST = new Set([
  'wait-ssh',
  'reidentify',
  'host-key',
  'replace-key',
  'set-hostname',
  'configure-network',
  'sync-folders',
  'provision',
  'wait-cloud-init',
  'grow-disk',
]);

interface World {
  root: string;
  home: string;
  fake: FakeProvider;
}

async function world(keepsCreated = false): Promise<World> {
  const root = tempDir();
  const home = tempDir();
  // Entries of the real store; the fake provider never reads the image. `cloud` is a cloud-init
  // box (seed written before each boot, cloud-init waited for), the others ssh-key boxes.
  for (const name of ['tiny', 'other', 'cloud']) {
    const dir = mkdtempSync(join(home, 'stage-'));
    writeFileSync(join(dir, 'box-0000000000000000.qcow2'), 'not really a disk');
    await commitBox(
      home,
      {
        dir,
        meta: {
          name,
          version: '0',
          provider: 'qemu',
          format: 'qcow2',
          imageFile: 'box-0000000000000000.qcow2',
          sshUser: name === 'cloud' ? 'boxfest' : 'root',
          hasInsecureKey: false,
          firstBoot: name === 'cloud' ? 'cloud-init' : 'ssh-key',
          diskInterface: 'virtio',
          sha256: '0'.repeat(64),
          size: 17,
          addedAt: '',
          source: 'test',
        },
      },
      false,
    );
  }
  return { root, home, fake: new FakeProvider(keepsCreated) };
}

/** The guest steps record that they ran; `fail` throws instead. Skip and rollback stay real. */
function withoutGuest(steps: Step<MachineRun>[], fail: string | undefined): Step<MachineRun>[] {
  return steps.map((s) =>
    !GUEST.has(s.name)
      ? s
      : {
          ...s,
          run: () =>
            s.name === fail
              ? Promise.reject(new BoxfestError('SSH_TIMEOUT', `${s.name} failed`))
              : Promise.resolve(),
        },
  );
}

/** What `boxfest up` does, on the fake: observe, reconcile, one job per machine with something to do. */
async function up(
  w: World,
  desired: MachineSpec[],
  o: { fail?: string; provision?: boolean } = {},
): Promise<{ actions: UpAction[]; results: JobResult[] }> {
  const env = environment(desired, w.root);
  const all = [...desired, ...orphanSpecs(env)];
  const observed = new Map<string, Observed>();
  for (const s of all) {
    const actual = await w.fake.inspect({ env, spec: s, paths: machinePaths(w.root, s.name) });
    const state = readMachineState(w.root, s.name);
    observed.set(
      s.name,
      state === undefined ? { actual } : { actual, applied: state.applied, converged: state.converged },
    );
  }
  const plan = reconcile(desired, observed, env.networks);
  const jobs = plan.machines
    .filter((m) => m.action !== 'none' || o.provision === true)
    .map((m) => {
      const s = all.find((x) => x.name === m.machine)!;
      const run = newMachineRun(env, s, w.fake, w.home, observed.get(m.machine)!.actual, 'auto');
      const steps = upSteps(m.action === 'none' ? 'provision' : m.action, run);
      return { machine: m.machine, ctx: run, steps: withoutGuest(steps, o.fail) };
    });
  const results = await runJobs(jobs, {
    parallel: true,
    renderer: 'silent',
    signal: new AbortController().signal,
  });
  // Each step that ran was timed; the rows compare the rest.
  for (const r of results) {
    expect(Object.keys(r.seconds ?? {}).sort()).toEqual([...r.ran].sort());
    expect(Object.keys(r.times ?? {}).sort()).toEqual([...r.ran].sort());
  }
  return {
    actions: plan.machines.map((m) => m.action),
    results: results.map(({ seconds: _, times: __, ...r }) => r),
  };
}

/** A first `up` of machine `web`, which must succeed. */
async function created(w: World): Promise<void> {
  const { results } = await up(w, [spec('web', { box: 'tiny' })]);
  expect(results.map((r) => r.ok)).toEqual([true]);
  w.fake.calls.length = 0;
}

const web = (over: Partial<MachineSpec> = {}) => [spec('web', { box: 'tiny', ...over })];
const BOOTED = ['wait-ssh', 'host-key', 'replace-key', 'set-hostname', 'finish'];
const NEW = ['configure', 'create', 'boot', ...BOOTED];

interface Row {
  action: UpAction | 'provision';
  /** Brings the world to the state the action is planned for; gives the Boxfile's machines. */
  setup: (w: World) => Promise<MachineSpec[]>;
  ran: string[];
  /** Rolled back, newest first, when wait-ssh fails. */
  undone: string[];
  /** The fake VM after that failure (undefined: none). */
  left: 'halted' | 'running' | undefined;
}

const ROWS: Record<string, Row> = {
  'create: a new machine': {
    action: 'create',
    setup: () => Promise.resolve(web()),
    ran: ['resolve-box', 'import-box', ...NEW],
    undone: ['boot', 'create', 'configure'],
    left: undefined,
  },
  'create: a broken one (its disk is gone) is discarded first': {
    action: 'create',
    setup: async (w) => {
      await created(w);
      w.fake.vms.get('web')!.disk = false;
      return web();
    },
    ran: ['resolve-box', 'import-box', 'discard', ...NEW],
    undone: ['boot', 'create', 'configure'],
    left: undefined,
  },
  'start: a halted machine': {
    action: 'start',
    setup: async (w) => {
      await created(w);
      w.fake.vms.get('web')!.state = 'halted';
      return web();
    },
    ran: ['resolve-box', 'import-box', 'boot', ...BOOTED],
    undone: ['boot'],
    left: 'halted',
  },
  'resume: a suspended machine': {
    action: 'resume',
    setup: async (w) => {
      await created(w);
      w.fake.vms.get('web')!.state = 'suspended';
      return web();
    },
    ran: ['resolve-box', 'import-box', 'resume', ...BOOTED],
    undone: [],
    left: 'running',
  },
  'continue: a running machine whose last up did not finish': {
    action: 'continue',
    setup: async (w) => {
      await created(w);
      updateMachineState(w.root, 'web', (s) => ({ ...s, converged: false }));
      return web();
    },
    ran: ['resolve-box', 'import-box', ...BOOTED],
    undone: [],
    left: 'running',
  },
  'apply: an in-place change (hostname)': {
    action: 'apply',
    setup: async (w) => {
      await created(w);
      return web({ hostname: 'renamed' });
    },
    ran: ['resolve-box', 'import-box', ...BOOTED],
    undone: [],
    left: 'running',
  },
  'reload: a change that needs a boot (memory)': {
    action: 'reload',
    setup: async (w) => {
      await created(w);
      return web({ memory: 2048 });
    },
    ran: ['resolve-box', 'import-box', 'reload-halt', 'boot', ...BOOTED],
    undone: ['boot'],
    left: 'halted',
  },
  'recreate: a change that needs a new disk (box)': {
    action: 'recreate',
    setup: async (w) => {
      await created(w);
      return web({ box: 'other' });
    },
    ran: ['resolve-box', 'import-box', 'discard', ...NEW],
    undone: ['boot', 'create', 'configure'],
    left: undefined,
  },
  'create: a cloud-init box (its seed before the boot, then cloud-init waited for)': {
    action: 'create',
    setup: () => Promise.resolve(web({ box: 'cloud' })),
    ran: [
      'resolve-box',
      'import-box',
      'configure',
      'write-seed',
      'create',
      'boot',
      'wait-ssh',
      // Its host key came in the seed, pinned at configure: nothing to install.
      'replace-key',
      'wait-cloud-init',
      'set-hostname',
      'finish',
    ],
    undone: ['boot', 'create', 'configure'],
    left: undefined,
  },
  'start: a halted cloud-init machine (its seed written again)': {
    action: 'start',
    setup: async (w) => {
      const desired = web({ box: 'cloud' });
      expect((await up(w, desired)).results.map((r) => r.ok)).toEqual([true]);
      w.fake.vms.get('web')!.state = 'halted';
      return desired;
    },
    ran: [
      'resolve-box',
      'import-box',
      'write-seed',
      'boot',
      'wait-ssh',
      // Its host key came in the seed, pinned at configure: nothing to install.
      'replace-key',
      'wait-cloud-init',
      'set-hostname',
      'finish',
    ],
    undone: ['boot'],
    left: 'halted',
  },
  'create: disk_size on an ssh-key box (the guest grows its root filesystem)': {
    action: 'create',
    setup: () => Promise.resolve(web({ diskSize: 4096 })),
    ran: [
      'resolve-box',
      'import-box',
      'configure',
      'create',
      'boot',
      'wait-ssh',
      'host-key',
      'replace-key',
      'grow-disk',
      'set-hostname',
      'finish',
    ],
    undone: ['boot', 'create', 'configure'],
    left: undefined,
  },
  'create: an ssh-key box on a provider that hands a first boot its identity': {
    action: 'create',
    setup: (w) => {
      w.fake.offersIdentity = true;
      return Promise.resolve(web());
    },
    ran: [
      'resolve-box',
      'import-box',
      'configure',
      'create',
      'offer-identity',
      'boot',
      'wait-ssh',
      'host-key',
      'replace-key',
      'set-hostname',
      'finish',
    ],
    undone: ['boot', 'create', 'configure'],
    left: undefined,
  },
  'none, with --provision: connect and provision': {
    action: 'provision',
    setup: async (w) => {
      await created(w);
      return web();
    },
    ran: ['wait-ssh'],
    undone: [],
    left: 'running',
  },
};

describe('the up pipeline, by plan action', () => {
  it.each(Object.entries(ROWS))('%s: runs the steps it needs', async (_title, row) => {
    const w = await world();
    const desired = await row.setup(w);
    const { actions, results } = await up(w, desired, { provision: row.action === 'provision' });
    expect(actions).toEqual([row.action === 'provision' ? 'none' : row.action]);
    expect(results).toEqual([{ machine: 'web', ok: true, ran: row.ran }]);
    // Afterwards the machine runs, made from the Boxfile's box, and a second up has nothing to do.
    expect(w.fake.vms.get('web')).toMatchObject({ state: 'running', box: desired[0]!.box });
    expect((await up(w, desired)).actions).toEqual(['none']);
  });

  it.each(Object.entries(ROWS))(
    '%s: rolls back what it did when the guest step fails',
    async (_title, row) => {
      const w = await world();
      const desired = await row.setup(w);
      const { results } = await up(w, desired, { fail: 'wait-ssh', provision: row.action === 'provision' });
      expect(results).toMatchObject([
        { machine: 'web', ok: false, failedStep: 'wait-ssh', rolledBack: row.undone, rollbackErrors: [] },
      ]);
      expect(results[0]!.ran.at(-1)).toBe('wait-ssh');
      expect(w.fake.vms.get('web')?.state).toBe(row.left);
      // A machine that was rolled back to nothing leaves nothing: no state, no box user.
      if (row.left === undefined) {
        expect(existsSync(machinePaths(w.root, 'web').dir)).toBe(false);
        expect(readdirSync(boxPaths(w.home, desired[0]!.box, '0', 'qemu').users)).toEqual([]);
      }
    },
  );

  it('remove: a machine no longer in the Boxfile is destroyed, with its state and box user', async () => {
    const w = await world();
    await created(w);
    const users = boxPaths(w.home, 'tiny', '0', 'qemu').users;
    expect(readdirSync(users)).toHaveLength(1);
    const { actions, results } = await up(w, []);
    expect(actions).toEqual(['remove']);
    expect(results).toEqual([{ machine: 'web', ok: true, ran: ['destroy'] }]);
    expect(w.fake.calls).toContain('destroy web');
    expect(w.fake.vms.size).toBe(0);
    expect(existsSync(machinePaths(w.root, 'web').dir)).toBe(false);
    expect(readdirSync(users)).toEqual([]);
  });

  it('a cloud-init machine: write-seed leaves its NoCloud seed, the state records the first boot', async () => {
    const w = await world();
    const { results } = await up(w, web({ box: 'cloud' }));
    expect(results.map((r) => r.ok)).toEqual([true]);
    const seed = machinePaths(w.root, 'web').seed;
    expect(readFileSync(seed).subarray(0x8001, 0x8006).toString('latin1')).toBe('CD001');
    expect(readMachineState(w.root, 'web')).toMatchObject({ firstBoot: 'cloud-init', sshUser: 'boxfest' });
    // Its host key was made on the host and pinned before the guest ever answered; the seed
    // carries it (the ISO holds the files' bytes as they are), the private half is the owner's only.
    const p = machinePaths(w.root, 'web');
    const pub = readFileSync(p.hostKeyPublic, 'utf8').trim();
    expect(pub).toMatch(/^ssh-ed25519 AAAA[A-Za-z0-9+/=]+$/);
    expect(readMachineState(w.root, 'web')).toMatchObject({ hostKey: pub, hostKeySource: 'boxfest' });
    expect(statSync(p.hostKey).mode & 0o777).toBe(0o600);
    const iso = readFileSync(seed, 'latin1');
    expect(iso).toContain(`ed25519_public: ${pub}`);
    expect(iso).toContain('-----BEGIN OPENSSH PRIVATE KEY-----');
    // An ssh-key box gets no seed, and no host key until the host-key step installs one.
    const v = await world();
    await up(v, web());
    expect(existsSync(machinePaths(v.root, 'web').seed)).toBe(false);
    expect(existsSync(machinePaths(v.root, 'web').hostKey)).toBe(false);
  });

  it('a recreated cloud-init machine gets a new instance-id; a restart keeps its own', async () => {
    const w = await world();
    const idNow = () => {
      const id = readMachineState(w.root, 'web')?.instanceId;
      expect(id).toMatch(/^boxfest-web-[0-9a-f]{12}$/);
      // The seed the guest boots from says the same (the ISO holds meta-data's bytes as they are).
      expect(readFileSync(machinePaths(w.root, 'web').seed, 'latin1')).toContain(`instance-id: ${id}\n`);
      return id;
    };
    expect((await up(w, web({ box: 'cloud' }))).results.map((r) => r.ok)).toEqual([true]);
    const first = idNow();
    // A boot of the same machine writes its seed again with the same id: cloud-init does not redo
    // its once-per-instance work.
    w.fake.vms.get('web')!.state = 'halted';
    const started = await up(w, web({ box: 'cloud' }));
    expect(started.actions).toEqual(['start']);
    expect(started.results[0]?.ran).toContain('write-seed');
    expect(idNow()).toBe(first);
    // A change that needs a new disk: discarded, configured again, a new instance.
    const changed = web({ box: 'cloud', cloudInit: { runcmd: ['true'] } });
    const recreated = await up(w, changed);
    expect(recreated.actions).toEqual(['recreate']);
    expect(recreated.results[0]?.ran).toEqual(expect.arrayContaining(['discard', 'configure', 'write-seed']));
    const second = idNow();
    expect(second).not.toBe(first);
    // Removed from the Boxfile, then brought back: a new instance again.
    expect((await up(w, [])).actions).toEqual(['remove']);
    expect(existsSync(machinePaths(w.root, 'web').dir)).toBe(false);
    expect((await up(w, changed)).actions).toEqual(['create']);
    expect([first, second]).not.toContain(idNow());
  });

  it('a cloud-init box on libvirt: its seed is written before the domain is made', async () => {
    const w = await world();
    const { results } = await up(w, web({ box: 'cloud', provider: 'libvirt' }));
    expect(results).toMatchObject([{ machine: 'web', ok: true }]);
    expect(results[0]!.ran.indexOf('write-seed')).toBeLessThan(results[0]!.ran.indexOf('create'));
    expect(existsSync(machinePaths(w.root, 'web').seed)).toBe(true);
  });

  it('a cloud-init box on a provider without cloud-init is refused before anything is made', async () => {
    // Every provider has a seed now: one without, as libvirt was before it had one.
    const caps = CAPABILITIES.libvirt;
    CAPABILITIES.libvirt = { ...caps, cloudInit: false };
    try {
      const w = await world();
      const { results } = await up(w, web({ box: 'cloud', provider: 'libvirt' }));
      expect(results).toMatchObject([
        {
          machine: 'web',
          ok: false,
          error: {
            code: 'CLOUD_INIT_UNSUPPORTED',
            message: 'machine web: box cloud is a cloud-init box, which provider libvirt cannot boot yet',
          },
        },
      ]);
      expect(w.fake.calls.filter((c) => !c.startsWith('inspect'))).toEqual([]);
      expect(w.fake.vms.size).toBe(0);
      expect(existsSync(machinePaths(w.root, 'web').seed)).toBe(false);
    } finally {
      CAPABILITIES.libvirt = caps;
    }
  });

  it('offer-identity: written before the boot (0600), its host key recorded as pending', async () => {
    const w = await world();
    w.fake.offersIdentity = true;
    await up(w, web());
    const paths = machinePaths(w.root, 'web');
    expect(readMachineState(w.root, 'web')!.hostKeyPending).toMatch(/^ssh-ed25519 /);
    expect(readFileSync(join(paths.identity, 'authorized_keys'), 'utf8')).toBe(
      `${readFileSync(paths.publicKey, 'utf8').trim()}\n`,
    );
    expect(readFileSync(join(paths.identity, 'user'), 'utf8')).toBe('root\n');
    expect(statSync(join(paths.identity, 'ssh_host_ed25519_key')).mode & 0o777).toBe(0o600);
  });

  it('every step of the pipeline is covered by a row', () => {
    const ran = new Set(Object.values(ROWS).flatMap((r) => r.ran));
    // Skipped by every row here: instant (off), a restored machine, networks, folders, provisioners
    // (those run on real guests in the integration tests).
    const skipped = ['prepare-instant', 'reidentify', 'configure-network', 'sync-folders', 'provision'];
    expect(upPipeline.map((s) => s.name).filter((s) => !ran.has(s))).toEqual(skipped);
  });
});

describe('the up pipeline on a provider that keeps what it created', () => {
  it('a failure after create keeps the machine and its state: the next up only starts it', async () => {
    const w = await world(true);
    const { results } = await up(w, web(), { fail: 'wait-ssh' });
    expect(results).toMatchObject([{ ok: false, failedStep: 'wait-ssh', rolledBack: ['boot'] }]);
    expect(w.fake.vms.get('web')?.state).toBe('halted');
    expect(readMachineState(w.root, 'web')).toBeDefined();
    w.fake.calls.length = 0;
    const again = await up(w, web());
    expect(again.actions).toEqual(['start']);
    expect(again.results).toEqual([
      { machine: 'web', ok: true, ran: ['resolve-box', 'import-box', 'boot', ...BOOTED] },
    ]);
    expect(w.fake.calls.filter((c) => c.startsWith('create'))).toEqual([]);
  });
});

describe('rollback failures', () => {
  it('are reported with the step they could not undo; the other rollbacks still run', async () => {
    const w = await world();
    w.fake.failing.add('destroy');
    const { results } = await up(w, web(), { fail: 'wait-ssh' });
    const [r] = results;
    expect(r).toMatchObject({
      ok: false,
      failedStep: 'wait-ssh',
      error: { code: 'SSH_TIMEOUT', step: 'wait-ssh' },
      rolledBack: ['boot', 'create', 'configure'],
    });
    expect(r!.rollbackErrors).toHaveLength(1);
    expect(r!.rollbackErrors![0]).toMatchObject({
      code: 'INTERNAL',
      message: 'fake destroy failed',
      machine: 'web',
      step: 'create',
    });
    // configure's rollback ran after create's failed: the state is gone, the VM is left.
    expect(existsSync(machinePaths(w.root, 'web').dir)).toBe(false);
    expect(w.fake.vms.get('web')?.state).toBe('halted');
    expect(jobsSummary(results)).toMatchObject([
      {
        name: 'web',
        ok: false,
        failed_step: 'wait-ssh',
        rolled_back: ['boot', 'create', 'configure'],
        rollback_errors: [{ step: 'create', code: 'INTERNAL', message: 'fake destroy failed' }],
      },
    ]);
  });

  it('a provider failure at boot rolls back create and configure', async () => {
    const w = await world();
    w.fake.failing.add('start');
    const { results } = await up(w, web());
    expect(results).toMatchObject([
      { ok: false, failedStep: 'boot', rolledBack: ['create', 'configure'], rollbackErrors: [] },
    ]);
    expect(results[0]!.ran).toEqual(['resolve-box', 'import-box', 'configure', 'create', 'boot']);
    expect(w.fake.vms.size).toBe(0);
  });
});
