// The lifecycle scenario (scenarios/lifecycle.ts) on the libvirt provider, then what libvirt made
// of the management network boxfest created for it.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { lifecycleScenario } from '../scenarios/lifecycle.js';
import { LIBVIRT, virsh } from '../targets.js';

lifecycleScenario(LIBVIRT);

describe('libvirt: the management network', () => {
  it('its dnsmasq offers a new guest an address without pinging it first (a new lease took ~2 s more)', () => {
    expect(virsh('net-dumpxml', 'boxfest')).toContain("<dnsmasq:option value='no-ping'/>");
    // libvirt wrote it into the configuration the running dnsmasq reads.
    const conf = readFileSync('/var/lib/libvirt/dnsmasq/boxfest.conf', 'utf8');
    expect(conf).toMatch(/^no-ping$/m);
    expect(conf).toMatch(/^dhcp-range=192\.168\.\d+\.2,192\.168\.\d+\.254/m);
  });
});
