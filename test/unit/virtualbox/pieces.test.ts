import { describe, expect, it } from 'vitest';
import type { Environment } from '../../../src/config/types.js';
import type { Websession } from '../../../src/providers/virtualbox/invoke.js';
import { configureAdapters, gatewayOf, vboxMac } from '../../../src/providers/virtualbox/network.js';
import { statusOf } from '../../../src/providers/virtualbox/states.js';
import { parseMedia, vmName } from '../../../src/providers/virtualbox/tags.js';

describe('host-only gateway of a private network', () => {
  it.each([
    ['192.168.56.0/24', '192.168.56.1', '255.255.255.0'],
    ['10.0.0.0/8', '10.0.0.1', '255.0.0.0'],
    ['172.16.4.0/22', '172.16.4.1', '255.255.252.0'],
    ['192.168.1.128/30', '192.168.1.129', '255.255.255.252'],
  ])('%s → %s/%s', (cidr, ip, mask) => expect(gatewayOf(cidr)).toEqual({ ip, mask }));
});

describe('NIC configuration at creation', () => {
  it('gives the NAT NIC (slot 0) its stable MAC too, in VirtualBox’s form, not only the attachments', async () => {
    const calls: [string, Record<string, unknown>][] = [];
    const s = {
      call: (op: string, args: Record<string, unknown>) => {
        calls.push([op, args]);
        return Promise.resolve(
          op === 'IMachine_getNetworkAdapter' ? `nic${String(args['slot'])}` : undefined,
        );
      },
    } as unknown as Websession;
    await configureAdapters(s, 'mm', '52:54:00:0a:bc:de', [
      { slot: 1, type: 'Bridged', hostInterface: 'eth0', mac: '52:54:00:12:34:56' },
    ]);
    expect(calls.filter(([op]) => op === 'INetworkAdapter_setMACAddress').map(([, a]) => a)).toEqual([
      { _this: 'nic0', MACAddress: '5254000ABCDE' },
      { _this: 'nic1', MACAddress: '525400123456' },
    ]);
    expect(vboxMac('52:54:00:ab:cd:ef')).toBe('525400ABCDEF');
  });
});

describe('machine states', () => {
  it.each([
    ['Running', 'running', undefined],
    ['Paused', 'running', 'Paused'],
    ['Starting', 'running', 'Starting'],
    ['PoweredOff', 'halted', undefined],
    ['Aborted', 'halted', 'its VM process ended unexpectedly (Aborted)'],
    ['Saved', 'halted', 'saved state'],
  ])('%s → %s', (state, status, reason) => {
    expect(statusOf(state)).toEqual(reason === undefined ? { status } : { status, reason });
  });
});

describe('tags', () => {
  const env = (root: string) => ({ root, name: 'app' }) as Environment;
  it('names a VM after project, machine and a hash of the root, so two checkouts never share one', () => {
    expect(vmName(env('/home/a/app'), 'web')).toMatch(/^boxfest-app-web-[0-9a-f]{8}$/);
    expect(vmName(env('/home/a/app'), 'web')).not.toBe(vmName(env('/home/b/app'), 'web'));
  });
  it.each([
    ['', []],
    ['["/x/a.vdi"]', ['/x/a.vdi']],
    ['not json', []],
    ['[1, "/y.vdi"]', ['/y.vdi']],
  ])('parseMedia(%j)', (v, want) => expect(parseMedia(v)).toEqual(want));
});
