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

describe('sshConfigBlock: a guest behind a remote libvirt host', () => {
  const env = environment([spec('web')]);
  const paths = machinePaths('/proj', 'web');
  const block = (jump: NonNullable<MachineState['sshJump']>) =>
    sshConfigBlock(
      env,
      'web',
      paths,
      machineState({ sshUser: 'vagrant', sshHost: '192.168.124.9', sshPort: 22, sshJump: jump }),
    );

  it('goes through the host by a ProxyCommand that reads no config, pinned to the key in the machine known_hosts', () => {
    const text = block({
      host: 'rack1.lan',
      port: 2222,
      user: 'ops',
      keyfile: '/home/me/.ssh/rack',
      hostKey: 'ssh-ed25519 AAAAhost',
    });
    expect(text.split('\n')).toEqual([
      'Host "boxfest-proj-web"',
      '  HostName "192.168.124.9"',
      '  Port 22',
      '  User "vagrant"',
      `  IdentityFile "${paths.privateKey}"`,
      '  IdentitiesOnly yes',
      `  UserKnownHostsFile "${paths.knownHosts}"`,
      '  HostKeyAlias "boxfest-proj-web"',
      '  StrictHostKeyChecking yes',
      '  PasswordAuthentication no',
      '  BatchMode yes',
      '  LogLevel ERROR',
      `  ProxyCommand ssh -F none -p 2222 -l ops -i /home/me/.ssh/rack -o IdentitiesOnly=yes -o 'UserKnownHostsFile="${paths.knownHosts}"' -o HostKeyAlias=boxfest-proj-web-host -o StrictHostKeyChecking=yes -o PasswordAuthentication=no -o BatchMode=yes -o LogLevel=ERROR -W '[%h]:%p' rack1.lan`,
      '',
    ]);
  });

  it('quotes a project path that a shell would run ($(...)) and doubles its % (ssh expands %-tokens)', () => {
    const odd = machinePaths('/tmp/a $(touch pwned) 100%', 'web');
    const text = sshConfigBlock(
      env,
      'web',
      odd,
      machineState({
        sshUser: 'vagrant',
        sshHost: '192.168.124.9',
        sshPort: 22,
        sshJump: { host: 'rack1.lan', port: 22, user: 'ops', hostKey: 'ssh-ed25519 AAAAhost' },
      }),
    );
    expect(text).toContain(
      `-o 'UserKnownHostsFile="/tmp/a $(touch pwned) 100%%/.boxfest/machines/web/known_hosts"'`,
    );
  });

  it.each<[string, Partial<NonNullable<MachineState['sshJump']>>]>([
    ['a host name that could end the line', { host: 'rack1\nProxyCommand evil' }],
    ['a user with a quote', { user: 'o"ps' }],
    ['a port out of range', { port: 70000 }],
    ['a key path with a newline', { keyfile: '/k\nProxyCommand evil' }],
  ])('refuses %s (it could add directives of its own)', (_t, over) => {
    expect(() => block({ host: 'rack1.lan', port: 22, user: 'ops', ...over })).toThrow(
      /cannot be written into an OpenSSH config safely/,
    );
  });
});
