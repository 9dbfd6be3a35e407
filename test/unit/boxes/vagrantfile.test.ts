import { describe, expect, it } from 'vitest';
import { readVagrantfile } from '../../../src/boxes/vagrantfile.js';

describe('a box Vagrantfile read as data', () => {
  it.each([
    ['config.ssh.username = "box"', { sshUser: 'box' }],
    ["  c.ssh.username = 'deploy'  # the image's user", { sshUser: 'deploy' }],
    ['libvirt.disk_bus = "virtio"', { diskBus: 'virtio' }],
    ['    lv.disk_bus = :sata', { diskBus: 'sata' }],
    ['# config.ssh.username = "commented"', {}],
    ['config.ssh.username = ENV["USER"]', {}],
    ['config.ssh.username = "a\\nb"', {}],
    ['config.ssh.username = "x y"', {}],
    ['config.ssh.username = "root; rm -rf /"', {}],
    ['system("touch /tmp/pwned")', {}],
  ])('%j → %j', (line, want) => {
    expect(readVagrantfile(line)).toEqual(want);
  });

  it('reads a whole Vagrantfile as vagrant-libvirt boxes ship it', () => {
    const text = [
      'Vagrant.configure("2") do |config|',
      '  config.ssh.username = "vagrant"',
      '  config.vm.provider :libvirt do |libvirt|',
      '    libvirt.driver = "kvm"',
      '    libvirt.disk_bus = "virtio"',
      '  end',
      'end',
    ].join('\n');
    expect(readVagrantfile(text)).toEqual({ sshUser: 'vagrant', diskBus: 'virtio' });
  });
});
