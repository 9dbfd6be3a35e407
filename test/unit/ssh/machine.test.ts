// The OpenSSH config of a machine points where its provider said SSH is: a forward on this host,
// or the guest's own address.
import { describe, expect, it } from 'vitest';
import { sshConfigBlock } from '../../../src/ssh/machine.js';
import type { MachineState } from '../../../src/state/machine-state.js';
import { machinePaths } from '../../../src/state/paths.js';
import { environment, machineState, spec } from '../helpers.js';

describe('sshConfigBlock', () => {
  it.each<[string, Partial<MachineState>, string, string]>([
    ['a forwarded port on this host', { sshPort: 2222 }, '127.0.0.1', '2222'],
    ["the guest's own address", { sshHost: '192.168.122.17', sshPort: 22 }, '192.168.122.17', '22'],
    ['no boot yet', {}, '127.0.0.1', '22'],
  ])('%s', (_title, over, host, port) => {
    const env = environment([spec('web')]);
    const block = sshConfigBlock(
      env,
      'web',
      machinePaths('/proj', 'web'),
      machineState({ sshUser: 'vagrant', ...over }),
    );
    expect(block.split('\n').slice(0, 4)).toEqual([
      'Host "boxfest-proj-web"',
      `  HostName "${host}"`,
      `  Port ${port}`,
      '  User "vagrant"',
    ]);
    expect(block).toContain('  HostKeyAlias "boxfest-proj-web"\n');
  });
});
