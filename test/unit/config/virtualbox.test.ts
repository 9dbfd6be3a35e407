// The Boxfile under `provider: virtualbox`: the top-level `virtualbox:` block of the issue's
// example, merged under defaults and machines, and what the provider cannot do yet.
import { describe, expect, it } from 'vitest';
import { CAPABILITIES } from '../../../src/providers/capabilities.js';
import { environment, fakeFs, problems, yaml } from './helpers.js';

const real = { capabilities: CAPABILITIES.virtualbox };

describe('provider: virtualbox', () => {
  it('takes the issue’s example as it is written', () => {
    const text = yaml(
      'version: 1',
      'provider: virtualbox',
      'virtualbox:',
      '  url: http://127.0.0.1:18083/     # default; any host running vboxwebsrv',
      'machines: { web: { box: tiny } }',
    );
    expect(problems(text, fakeFs(), undefined, real)).toEqual([]);
    const env = environment(text, fakeFs(), undefined, real);
    expect(env.provider).toBe('virtualbox');
    expect(env.machines[0]?.virtualbox).toEqual({
      url: 'http://127.0.0.1:18083/',
      gui: false,
      linkedClone: true,
    });
  });

  it.each([
    ['top level only', '', '', 'http://top:18083/', undefined],
    [
      'defaults win over the top level',
      'defaults: { virtualbox: { url: http://d:1/ } }',
      '',
      'http://d:1/',
      undefined,
    ],
    [
      'the machine wins over both',
      'defaults: { virtualbox: { url: http://d:1/ } }',
      ', virtualbox: { url: http://m:1/, os_type: Debian_64 }',
      'http://m:1/',
      'Debian_64',
    ],
  ])('%s', (_name, defaults, own, url, osType) => {
    const env = environment(
      yaml(
        'version: 1',
        'provider: virtualbox',
        'virtualbox: { url: http://top:18083/ }',
        defaults,
        `machines: { web: { box: tiny${own} } }`,
      ),
      fakeFs(),
      undefined,
      real,
    );
    expect(env.machines[0]?.virtualbox.url).toBe(url);
    expect(env.machines[0]?.virtualbox.osType).toBe(osType);
  });

  it('refuses what it cannot do yet, where it is written, and credentials in the file', () => {
    const text = yaml(
      'version: 1',
      'provider: virtualbox',
      'virtualbox: { gui: true }',
      'machines:',
      '  web: { box: tiny, disk_size: 20GiB, virtualbox: { linked_clone: false } }',
    );
    const hint = (key: string) => `(remove \`${key}\`, or see the issue tracker for when it lands)`;
    expect(problems(text, fakeFs(), undefined, real)).toEqual([
      `3:15 virtualbox.gui: provider \`virtualbox\` cannot do \`virtualbox.gui\` yet ${hint('virtualbox.gui')}`,
      `5:21 machines.web.disk_size: provider \`virtualbox\` cannot do disk_size (growing the disk) yet ${hint('disk_size')}`,
      `5:53 machines.web.virtualbox.linked_clone: provider \`virtualbox\` cannot do \`virtualbox.linked_clone\` yet ${hint('virtualbox.linked_clone')}`,
    ]);
    const creds = problems(
      yaml(
        'version: 1',
        'provider: virtualbox',
        'virtualbox: { password: s3cret }',
        'machines: { web: { box: tiny } }',
      ),
      fakeFs(),
      undefined,
      real,
    );
    expect(creds).toHaveLength(1);
    expect(creds[0]).toMatch(/^3:15 virtualbox.password: unknown key `password`/);
    const inUrl = problems(
      yaml(
        'version: 1',
        'provider: virtualbox',
        'virtualbox: { url: "http://me:pw@host:18083/" }',
        'machines: { web: { box: tiny } }',
      ),
      fakeFs(),
      undefined,
      real,
    );
    expect(inUrl).toHaveLength(1);
    expect(inUrl[0]).toMatch(/^3:20 virtualbox.url: /);
  });

  it('does networks, MACs and forwarded ports', () => {
    const text = yaml(
      'version: 1',
      'provider: virtualbox',
      'networks:',
      '  lan: { type: bridged, interface: eth0 }',
      '  priv: { type: private, cidr: 192.168.56.0/24 }',
      'machines:',
      '  web:',
      '    box: tiny',
      '    networks: [{ network: lan, mac: "52:54:00:00:00:01" }, { network: priv, ip: 192.168.56.10 }]',
      '    forwarded_ports: [{ guest: 80, host: 8080 }]',
    );
    expect(problems(text, fakeFs(), undefined, real)).toEqual([]);
  });
});
