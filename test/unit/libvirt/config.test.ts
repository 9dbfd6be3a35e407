// What a Boxfile for provider libvirt may say, refused at validate time with the reason: the
// capabilities libvirt lacks (instant up, disk_size, data disks, cloud-init), transports boxfest does not speak, a session daemon.
import { describe, expect, it } from 'vitest';
import { fakeFs, problems, yaml } from '../config/helpers.js';

const head = ['version: 1', 'provider: libvirt'];

describe('libvirt Boxfiles', () => {
  it.each<[string, string[], string[]]>([
    ['a local system daemon and a pool', ['libvirt:', '  uri: qemu:///system', '  pool: default'], []],
    // Each version a machine uses is its own box volume in the pool.
    ['a box version constraint', ['defaults: { box_version: ">= 1.0, < 2" }'], []],
    [
      'a tcp transport',
      ['libvirt:', '  uri: qemu+tcp://h/system'],
      [
        '4:8 libvirt.uri: `qemu+tcp://h/system` uses the tcp transport, which boxfest does not speak (use a local qemu:///system)',
      ],
    ],
    [
      'a session daemon',
      ['libvirt:', '  uri: qemu:///session'],
      [
        '4:8 libvirt.uri: `qemu:///session` is a session daemon, which has no virtual networks for the management network (use qemu:///system (as root, or in the `libvirt` group))',
      ],
    ],
  ])('%s', (_name, lines, want) => {
    expect(problems(yaml(...head, ...lines, 'machines:', '  web: { box: tiny }'))).toEqual(want);
  });

  it('instant up is refused with the reason, before any VM is touched', () => {
    const got = problems(yaml(...head, 'machines:', '  web:', '    box: tiny', '    instant: true'));
    expect(got).toHaveLength(1);
    expect(got[0]).toMatch(/^6:5 machines\.web\.instant: provider `libvirt` cannot/);
    expect(got[0]).toContain('libvirt checks on restore');
    expect(got[0]).toContain('set `instant: false`, or use provider qemu');
  });

  it('disk_size, data disks and cloud-init user-data are refused where written, all at once', () => {
    const got = problems(
      yaml(
        ...head,
        'defaults: { cloud_init: { packages: [htop] } }',
        'machines:',
        '  web:',
        '    box: tiny',
        '    disk_size: 2GiB',
        '    disks: [{ name: data, size: 1GiB }]',
      ),
    );
    const hint = (key: string) => `(remove \`${key}\`, or see the issue tracker for when it lands)`;
    expect(got).toEqual([
      `3:13 defaults.cloud_init: provider \`libvirt\` cannot do cloud-init user-data yet (the libvirt domain is not given a cloud-init seed yet (remove \`cloud_init\`, use a box set up by its SSH key, or use provider qemu))`,
      `7:5 machines.web.disk_size: provider \`libvirt\` cannot do disk_size (growing the disk) yet ${hint('disk_size')}`,
      `8:5 machines.web.disks: provider \`libvirt\` cannot do extra data disks yet ${hint('disks')}`,
    ]);
  });

  it('a remote host over SSH: rsync folders are fine; forwarded ports and live shares are refused where written, all at once', () => {
    const got = problems(
      yaml(
        ...head,
        'libvirt: { uri: "qemu+ssh://ops@rack1.lan/system?keyfile=~/.ssh/rack" }',
        'machines:',
        '  web:',
        '    box: tiny',
        '    forwarded_ports: [{ guest: 80, host: 8080 }]',
        '    synced_folders:',
        '      - { src: ., dest: /srv/app }',
        '      - { src: ., dest: /srv/live, type: virtiofs }',
      ),
      fakeFs('/proj'),
    );
    expect(got).toEqual([
      '7:22 machines.web.forwarded_ports[0]: forwarded ports of machines on a remote libvirt host (qemu+ssh://ops@rack1.lan/system?keyfile=~/.ssh/rack) are not supported yet (remove `forwarded_ports`, or reach the port through `boxfest ssh MACHINE -- -L PORT:localhost:PORT`)',
      '10:42 machines.web.synced_folders[1].type: a `type: virtiofs` folder shares a directory of the host QEMU runs on, and qemu+ssh://ops@rack1.lan/system?keyfile=~/.ssh/rack is another host (use `type: rsync` (copied to the guest over SSH, through the libvirt host))',
    ]);
  });

  it('the libvirt block is project-wide: a machine cannot have one', () => {
    expect(
      problems(yaml(...head, 'machines:', '  web:', '    box: tiny', '    libvirt: { pool: x }')),
    ).toEqual([expect.stringMatching(/^6:5 machines\.web\.libvirt: unknown key `libvirt`/) as string]);
  });
});
