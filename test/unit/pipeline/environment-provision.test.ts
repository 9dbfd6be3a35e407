// Which environment-wide (ansible) provisioners run after the machines' pipelines, and for whom:
// one run per provisioner even when `defaults` declares it on every machine; a machine whose
// pipeline failed is left out; `once` ones that ran are not due again; a failed run fails the
// machines it was for.
import { describe, expect, it } from 'vitest';
import type { Provisioner } from '../../../src/config/types.js';
import { BoxfestError } from '../../../src/errors.js';
import { environmentRuns, withEnvironmentResults } from '../../../src/pipeline/environment-provision.js';
import { writeMachineState } from '../../../src/state/machine-state.js';
import { ansibleProvisioner, environment, machineState, spec, tempDir } from '../helpers.js';

const ansible = ansibleProvisioner;
const shell: Provisioner = {
  kind: 'shell',
  name: 'sh',
  run: 'once',
  source: { inline: 'true' },
  args: [],
  env: {},
  secrets: [],
  privileged: true,
};

function project(provisioned: Record<string, string[]> = {}) {
  const root = tempDir();
  const site = ansible('site');
  const machines = [
    spec('web', { provision: [site, shell, ansible('per', { scope: 'machine' })] }),
    spec('db', { provision: [site] }),
    spec('cache', { provision: [site, ansible('extra', { run: 'always' })] }),
  ];
  for (const m of machines)
    writeMachineState(root, m.name, machineState({ provisioned: provisioned[m.name] ?? [] }));
  return { env: environment(machines, root), machines };
}

describe('environment-wide provisioners', () => {
  it('one run per provisioner, for every machine that declares it and is due', () => {
    const { env, machines } = project();
    const runs = environmentRuns(env, machines, [], 'auto');
    expect(runs.map((r) => [r.provisioner.name, r.machines])).toEqual([
      ['site', ['web', 'db', 'cache']],
      ['extra', ['cache']],
    ]);
  });

  it('leaves out failed machines and once ones already run; none with provisioning off', () => {
    const { env, machines } = project({ db: ['site'] });
    const failed = [{ machine: 'cache', ok: false, ran: [] }];
    expect(
      environmentRuns(env, machines, failed, 'auto').map((r) => [r.provisioner.name, r.machines]),
    ).toEqual([['site', ['web']]]);
    expect(environmentRuns(env, machines, [], 'none')).toEqual([]);
    // `provision --with site` (mode all, only site): the done ones run again too.
    expect(environmentRuns(env, machines, [], 'all', ['site']).map((r) => r.machines)).toEqual([
      ['web', 'db', 'cache'],
    ]);
  });

  it('a failed run fails each machine it was for, named, at step provision: NAME', () => {
    const error = new BoxfestError('ANSIBLE_FAILED', 'boom', { step: 'provision' });
    const out = withEnvironmentResults(
      [
        { machine: 'web', ok: true, ran: ['provision'] },
        { machine: 'db', ok: false, ran: [], failedStep: 'boot' },
      ],
      [{ provisioner: ansible('site'), machines: ['web', 'cache'], ok: false, output: [], error }],
    );
    expect(out.map((r) => [r.machine, r.ok, r.failedStep, r.error?.machine])).toEqual([
      ['web', false, 'provision: site', 'web'],
      ['db', false, 'boot', undefined],
      ['cache', false, 'provision: site', 'cache'],
    ]);
  });
});
