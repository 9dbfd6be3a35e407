// Which libvirt URIs boxfest takes, and why the others are refused (uri.ts usableUri): a local
// qemu:///system, or a remote host's over SSH with only the parameters boxfest reads.
import { describe, expect, it } from 'vitest';
import {
  REMOTE_DEFAULT_SOCKET,
  remoteSocket,
  sshHost,
  sshPort,
  usableUri,
  type LibvirtUri,
} from '../../../src/providers/libvirt/uri.js';

const ok = (text: string): LibvirtUri => {
  const p = usableUri(text);
  if (!p.ok) throw new Error(`${text}: ${p.problem} (${p.hint})`);
  return p.uri;
};

describe('usableUri accepts', () => {
  it.each<[string, Partial<Record<'transport' | 'user' | 'host' | 'driverUri', string>>]>([
    ['qemu:///system', { transport: 'unix', driverUri: 'qemu:///system' }],
    ['qemu:///system?socket=/run/x/sock', { transport: 'unix' }],
    ['qemu+ssh://h/system', { transport: 'ssh', host: 'h', driverUri: 'qemu:///system' }],
    ['qemu+ssh://root@10.0.0.5:2222/system', { transport: 'ssh', user: 'root', host: '10.0.0.5' }],
    // libssh/libssh2 only name libvirt's own client library: boxfest's SSH client serves all three.
    ['qemu+libssh://h/system', { transport: 'ssh' }],
    ['qemu+libssh2://u@h/system', { transport: 'ssh', user: 'u' }],
    ['qemu+ssh://h/system?keyfile=/k/id&socket=/run/libvirt/virtqemud-sock', { transport: 'ssh' }],
    ['qemu+ssh://h/system?keyfile=~/.ssh/lab', { transport: 'ssh' }],
    ['qemu+ssh://[fe80::1]:22/system', { transport: 'ssh', host: '[fe80::1]' }],
  ])('%s', (text, want) => {
    expect(ok(text)).toMatchObject(want);
  });
});

describe('usableUri refuses, with a hint', () => {
  it.each<[string, RegExp, RegExp]>([
    ['xen:///system', /names the xen driver/, /qemu:\/\//],
    ['qemu+tcp://h/system', /uses the tcp transport/, /qemu:\/\/\/system/],
    ['qemu+tls://h/system', /uses the tls transport/, /qemu:\/\/\/system/],
    ['qemu://h/system', /uses the tls transport/, /qemu:\/\/\/system/],
    ['qemu:///session', /session daemon/, /qemu:\/\/\/system/],
    ['qemu:///system?mode=legacy', /parameter `mode`/, /only `socket=` is read/],
    ['qemu:///system?socket=rel', /not an absolute path/, /absolute path/],
    ['qemu+ssh:///system', /without a host/, /qemu\+ssh:\/\/\[USER@\]HOST/],
    ['qemu+ssh://h/session', /session daemon/, /qemu:\/\/\/system/],
    ['qemu+ssh://h/', /names the path \//, /qemu\+ssh:\/\/HOST\/system/],
    ['qemu+ssh://h:0/system', /port 0 is not a TCP port/, /1-65535/],
    ['qemu+ssh://h:70000/system', /port 70000/, /1-65535/],
    ['qemu+ssh://@h/system', /unusable host or user/, /USER@/],
    // boxfest checks host keys itself: turning that off is refused, not ignored.
    ['qemu+ssh://h/system?no_verify=1', /parameter `no_verify`/, /checks the host key itself/],
    ['qemu+ssh://h/system?known_hosts=/x', /parameter `known_hosts`/, /~\/\.ssh\/known_hosts/],
    ['qemu+libssh2://h/system?known_hosts_verify=ignore', /`known_hosts_verify`/, /pins a host/],
    ['qemu+ssh://h/system?sshauth=password', /`sshauth`/, /never a password/],
    ['qemu+ssh://h/system?command=/usr/bin/ssh', /`command`/, /runs no ssh command/],
    ['qemu+ssh://h/system?netcat=nc', /`netcat`/, /socket=PATH/],
    ['qemu+ssh://h/system?proxy=native', /`proxy`/, /socket=PATH/],
    ['qemu+ssh://h/system?no_tty=1', /`no_tty`/, /never asks for a password/],
    ['qemu+ssh://h/system?pkipath=/p', /`pkipath`/, /only `keyfile=` and `socket=` are read/],
    ['qemu+ssh://h/system?keyfile=id_rsa', /keyfile=id_rsa is not an absolute path/, /~\/PATH/],
    ['qemu+ssh://h/system?socket=libvirt-sock', /socket=libvirt-sock is not an absolute path/, /remote host/],
    ['qemu+ssh://h/system?socket=/a%0Ab', /not an absolute path/, /remote host/],
  ])('%s', (text, problem, hint) => {
    const p = usableUri(text);
    expect(p.ok).toBe(false);
    if (p.ok) return;
    expect(p.problem).toMatch(problem);
    expect(p.problem).toContain(`\`${text}\``);
    expect(p.hint).toMatch(hint);
  });
});

describe('remote URI parts', () => {
  it.each<[string, string, number, string]>([
    ['qemu+ssh://h/system', 'h', 22, REMOTE_DEFAULT_SOCKET],
    ['qemu+ssh://u@h:2200/system', 'h', 2200, '/run/libvirt/libvirt-sock'],
    [
      'qemu+ssh://[::1]:2222/system?socket=/run/libvirt/virtqemud-sock',
      '::1',
      2222,
      '/run/libvirt/virtqemud-sock',
    ],
  ])('%s → host %s, port %d, socket %s', (text, host, port, socket) => {
    const u = ok(text);
    expect([sshHost(u), sshPort(u), remoteSocket(u)]).toEqual([host, port, socket]);
  });
});
