import type { GuestNic } from '../../guest/network.js';
import { networkScript, parseNicLines } from '../../guest/network.js';
import { detectGuest } from '../../guest/family.js';
import { peerHosts } from '../../network/hosts.js';
import { readLeases } from '../../network/leases.js';
import { machineNics } from '../../network/nics.js';
import { asRoot } from '../../ssh/as-root.js';
import { execChecked } from '../../ssh/client.js';
import { readMachineState, updateMachineState } from '../../state/machine-state.js';
import { BoxfestError } from '../../errors.js';
import { need, type MachineRun } from '../machine-run.js';
import type { Step } from '../step.js';

/** Seconds a bridged NIC gets to obtain its address from the LAN's DHCP server. */
export const BRIDGED_DHCP_WAIT_S = 60;

/**
 * Gives the guest its private addresses (on every boot, as Vagrant does), waits for the DHCP
 * address of its bridged NICs and lists its peers in /etc/hosts.
 */
export const configureNetwork: Step<MachineRun> = {
  name: 'configure-network',
  title: 'configure networks',
  skip: (ctx) => (ctx.spec.networks.length === 0 ? 'no networks' : false),
  run: async (ctx, out) => {
    const ssh = need(ctx.ssh, 'ssh').client;
    const leasesOf = (n: string) => readLeases(ctx.env.root, n);
    const nics = machineNics(ctx.env, ctx.spec, leasesOf);
    const facts = await detectGuest(ssh);
    const guestNics = nics.map((n): GuestNic =>
      n.kind === 'private'
        ? {
            network: n.network,
            mac: n.mac,
            kind: 'private',
            cidr: `${n.ip}/${n.prefix}`,
            how: n.allocated ? 'allocated' : 'static',
          }
        : { network: n.network, mac: n.mac, kind: 'bridged' },
    );
    const state = need(readMachineState(ctx.env.root, ctx.spec.name), 'machine state');
    const script = networkScript({
      family: facts.family,
      nics: guestNics,
      hosts: peerHosts(ctx.env, ctx.spec, leasesOf),
      dhcpWaitS: BRIDGED_DHCP_WAIT_S,
      // cloud-init boxes got their addresses from the seed's network-config at boot.
      configuredBy: state.firstBoot === 'cloud-init' ? 'cloud-init' : 'boxfest',
    });
    const user = state.sshUser;
    const seen = parseNicLines(
      await execChecked(
        ssh,
        asRoot(user, script),
        `configuring the networks (${facts.id} guest)`,
        ctx.spec.name,
      ),
    );
    updateMachineState(ctx.env.root, ctx.spec.name, (s) => ({ ...s, addresses: seen }));
    const missing = seen.filter((s) => s.cidr === '');
    if (missing.length > 0)
      throw new BoxfestError(
        'BRIDGED_NO_ADDRESS',
        `no DHCP address on bridged network ${missing.map((s) => `\`${s.network}\` (${s.iface})`).join(', ')} within ${BRIDGED_DHCP_WAIT_S} s`,
        { hint: "is a DHCP server answering on that bridge's LAN? `boxfest up` retries" },
      );
    out.title(`networks: ${seen.map((s) => `${s.iface} ${s.cidr}`).join(', ')}`);
  },
};
