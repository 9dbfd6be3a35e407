// NICs: 1 is NAT with SSH (and `forwarded_ports`) forwarded from 127.0.0.1; every network
// attachment gets the next slot: private → host-only adapter, bridged → bridged adapter. Every NIC,
// the NAT one included, gets boxfest's stable MAC (network/nics.ts), as on the other providers.
import { macFor } from '../../network/nics.js';
import { BoxfestError } from '../../errors.js';
import type { Environment, MachineSpec, Network } from '../../config/types.js';
import type { PortMapping } from '../../state/machine-state.js';
import type { Ref, Websession } from './invoke.js';

export interface Attachment {
  slot: number;
  type: 'HostOnly' | 'Bridged';
  hostInterface: string;
  mac?: string;
}

interface HostInterface {
  name: string;
  type: string;
  ip: string;
  mask: string;
}

async function hostInterfaces(s: Websession, host: Ref): Promise<HostInterface[]> {
  const out: HostInterface[] = [];
  for (const ref of await s.call<Ref[]>('IHost_getNetworkInterfaces', { _this: host })) {
    out.push({
      name: await s.call<string>('IHostNetworkInterface_getName', { _this: ref }),
      type: await s.call<string>('IHostNetworkInterface_getInterfaceType', { _this: ref }),
      ip: await s.call<string>('IHostNetworkInterface_getIPAddress', { _this: ref }),
      mask: await s.call<string>('IHostNetworkInterface_getNetworkMask', { _this: ref }),
    });
  }
  return out;
}

/** `192.168.56.0/24` → gateway `192.168.56.1`, mask `255.255.255.0`. */
export function gatewayOf(cidr: string): { ip: string; mask: string } {
  const [addr = '', bits = '24'] = cidr.split('/');
  const n = addr.split('.').reduce((a, o) => a * 256 + Number(o), 0);
  const prefix = Number(bits);
  const maskN = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  const dotted = (x: number) => [24, 16, 8, 0].map((s) => (x >>> s) & 255).join('.');
  return { ip: dotted(((n & maskN) >>> 0) + 1), mask: dotted(maskN) };
}

/**
 * Resolves every attachment to a host interface before anything is created, so a missing
 * interface stops `up` with nothing left behind.
 */
export async function resolveAttachments(
  s: Websession,
  env: Environment,
  spec: MachineSpec,
): Promise<Attachment[]> {
  if (spec.networks.length === 0) return [];
  const host = await s.call('IVirtualBox_getHost', { _this: s.vbox });
  let ifaces = await hostInterfaces(s, host);
  const out: Attachment[] = [];
  for (const [i, a] of spec.networks.entries()) {
    const net = env.networks.find((n) => n.name === a.network);
    if (net === undefined) continue; // validate() reported it
    const slot = i + 1;
    // The same stable MAC as on every provider: the guest-side network step finds the NIC by it.
    const mac = { mac: a.mac ?? macFor(env.root, spec.name, slot) };
    if (net.type === 'bridged') {
      if (!ifaces.some((f) => f.name === net.interface && f.type === 'Bridged'))
        throw new BoxfestError(
          'VBOX_NO_HOST_INTERFACE',
          `network ${net.name}: the VirtualBox host has no interface \`${net.interface}\` to bridge`,
          {
            machine: spec.name,
            hint: `set \`networks.${net.name}.interface\` to one of: ${ifaces
              .filter((f) => f.type === 'Bridged')
              .map((f) => f.name)
              .join(', ')}`,
          },
        );
      out.push({ slot, type: 'Bridged', hostInterface: net.interface, ...mac });
    } else {
      const name = await hostOnlyInterface(s, host, net, ifaces, spec.name);
      ifaces = await hostInterfaces(s, host);
      out.push({ slot, type: 'HostOnly', hostInterface: name, ...mac });
    }
  }
  return out;
}

/** The host-only interface whose address is the network's gateway; created when there is none. */
async function hostOnlyInterface(
  s: Websession,
  host: Ref,
  net: Extract<Network, { type: 'private' }>,
  ifaces: HostInterface[],
  machine: string,
): Promise<string> {
  const gw = gatewayOf(net.cidr);
  const existing = ifaces.find((f) => f.type === 'HostOnly' && f.ip === gw.ip);
  if (existing !== undefined) return existing.name;
  try {
    const r = await s.call<{ hostInterface: Ref; returnval: Ref }>('IHost_createHostOnlyNetworkInterface', {
      _this: host,
    });
    await s.wait(r.returnval, 'IHost_createHostOnlyNetworkInterface');
    const progress = await s
      .call('IHostNetworkInterface_enableStaticIPConfig', {
        _this: r.hostInterface,
        IPAddress: gw.ip,
        networkMask: gw.mask,
      })
      .catch(() => undefined);
    if (progress !== undefined && progress !== '')
      await s.wait(progress, 'enableStaticIPConfig').catch(() => {});
    return await s.call<string>('IHostNetworkInterface_getName', { _this: r.hostInterface });
  } catch (e) {
    if (!(e instanceof BoxfestError)) throw e;
    throw new BoxfestError(
      'VBOX_HOST_ONLY_UNAVAILABLE',
      `network ${net.name} (${net.cidr}): VirtualBox cannot create a host-only interface for it`,
      {
        machine,
        details: `VirtualBox said: ${e.message}`,
        hint:
          `on the host running vboxwebsrv, load the host-only driver (\`modprobe vboxnetadp\`, from virtualbox-dkms), then ` +
          `create the interface: \`VBoxManage hostonlyif create\` and \`VBoxManage hostonlyif ipconfig vboxnet0 --ip ${gw.ip} --netmask ${gw.mask}\`; ` +
          `or use a bridged network, or \`provider: qemu\``,
        cause: e,
      },
    );
  }
}

/** `52:54:00:ab:cd:ef` as VirtualBox takes and gives it: `525400ABCDEF`. */
export const vboxMac = (mac: string): string => mac.replaceAll(':', '').toUpperCase();

/**
 * NAT on NIC 1 with `natMac` (the management NIC's MAC, which a cloud-init seed's network-config
 * matches: VirtualBox would otherwise pick a random one) and the attachments on the next slots;
 * on a machine under a write lock.
 */
export async function configureAdapters(
  s: Websession,
  mutable: Ref,
  natMac: string,
  attachments: readonly Attachment[],
): Promise<void> {
  const nat = await s.call('IMachine_getNetworkAdapter', { _this: mutable, slot: 0 });
  await s.call<void>('INetworkAdapter_setEnabled', { _this: nat, enabled: true });
  await s.call<void>('INetworkAdapter_setAttachmentType', { _this: nat, attachmentType: 'NAT' });
  await s.call<void>('INetworkAdapter_setMACAddress', { _this: nat, MACAddress: vboxMac(natMac) });
  for (const a of attachments) {
    const nic = await s.call('IMachine_getNetworkAdapter', { _this: mutable, slot: a.slot });
    await s.call<void>('INetworkAdapter_setEnabled', { _this: nic, enabled: true });
    await s.call<void>('INetworkAdapter_setAttachmentType', { _this: nic, attachmentType: a.type });
    if (a.type === 'HostOnly')
      await s.call<void>('INetworkAdapter_setHostOnlyInterface', {
        _this: nic,
        hostOnlyInterface: a.hostInterface,
      });
    else
      await s.call<void>('INetworkAdapter_setBridgedInterface', {
        _this: nic,
        bridgedInterface: a.hostInterface,
      });
    if (a.mac !== undefined)
      await s.call<void>('INetworkAdapter_setMACAddress', { _this: nic, MACAddress: vboxMac(a.mac) });
  }
}

/** Replaces NIC 1's redirects: `ssh` from 127.0.0.1:sshPort, then `forwarded_ports`. */
export async function setRedirects(
  s: Websession,
  mutable: Ref,
  ssh: { hostPort: number; guestPort: number },
  ports: readonly PortMapping[],
): Promise<void> {
  const nat = await s.call('IMachine_getNetworkAdapter', { _this: mutable, slot: 0 });
  const engine = await s.call('INetworkAdapter_getNATEngine', { _this: nat });
  for (const r of await s.call<string[]>('INATEngine_getRedirects', { _this: engine }))
    await s.call<void>('INATEngine_removeRedirect', { _this: engine, name: r.split(',')[0] ?? '' });
  const add = (name: string, proto: string, hostIP: string, hostPort: number, guestPort: number) =>
    s.call<void>('INATEngine_addRedirect', {
      _this: engine,
      name,
      proto,
      hostIP,
      hostPort,
      guestIP: '',
      guestPort,
    });
  await add('ssh', 'TCP', '127.0.0.1', ssh.hostPort, ssh.guestPort);
  for (const [i, p] of ports.entries())
    await add(`port-${i + 1}`, p.protocol.toUpperCase(), p.hostIp, p.host, p.guest);
}
