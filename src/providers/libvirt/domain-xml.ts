// The one place a machine's libvirt domain XML is made (unit-tested against golden files in
// test/fixtures/libvirt/), and where boxfest's ownership tag in <metadata> is written and read.
// Pure: the provider gathers the facts (virt type, volumes, networks) and passes them in.
import { attr, child, children, esc, parseXml, text, type XmlElement } from './xml.js';

/** boxfest's own XML namespace for <metadata>; the element is `boxfest:machine`. */
export const METADATA_NS = 'https://boxfest.dev/xmlns/libvirt/machine/1';
export const METADATA_KEY = 'boxfest';

/**
 * Who owns a domain and what boxfest made for it. A domain without this element, or with another
 * project's, is never touched. `digest` is the sha256 of the applied spec the domain was last
 * booted with (the Boxfile's view of the machine), `applied` that spec itself (JSON), so a fresh
 * checkout can still tell what changed.
 */
export interface OwnerTag {
  /** Absolute project root on the host that ran `up`. */
  project: string;
  machine: string;
  digest: string;
  /** The volumes boxfest created for the machine: the only ones `destroy` deletes. */
  volumes: { pool: string; name: string }[];
  createdAt: string;
  applied?: string;
}

export type DomainNic =
  | { kind: 'network'; network: string; mac: string }
  | { kind: 'bridge'; bridge: string; mac: string }
  /** macvtap on a host interface that is not a bridge. */
  | { kind: 'direct'; dev: string; mac: string };

export interface DomainSpec {
  name: string;
  /** Kept across redefinitions (libvirt refuses a new UUID for an existing name). */
  uuid?: string;
  /** `kvm` when KVM works on the host, else `qemu` (TCG). */
  virtType: 'kvm' | 'qemu';
  memoryMiB: number;
  cpus: number;
  disk: { pool: string; volume: string; bus: 'virtio' | 'sata' | 'scsi' };
  /** cloud-init boxes: the NoCloud seed volume (raw ISO 9660), attached read-only after the disk. */
  seed?: { pool: string; volume: string };
  /** NIC 0 first: the management network, which carries SSH. */
  nics: DomainNic[];
  /** Host path of the serial console log (on the libvirt host). */
  serialLog: string;
  /** Live shared folders (sync/shares.ts), in order: `<filesystem>` devices. */
  shares?: readonly DomainShare[];
  owner: OwnerTag;
}

/** A live share as a `<filesystem>`: its type, the guest's mount tag, the host directory. */
export interface DomainShare {
  type: 'virtiofs' | '9p';
  tag: string;
  /** Absolute directory on the libvirt host. */
  src: string;
}

const DISK_TARGET = { virtio: 'vda', sata: 'sda', scsi: 'sda' } as const;

/** The seed disk's serial, as on QEMU (/dev/disk/by-id/virtio-boxfest-cidata in the guest). */
export const SEED_SERIAL = 'boxfest-cidata';

/**
 * The seed as QEMU's provider attaches it (providers/qemu/args.ts): a read-only raw virtio disk
 * with the serial `boxfest-cidata`, not a CD-ROM, whose bus would depend on the machine type
 * (IDE on i440fx, SATA on q35); cloud-init finds it by its `cidata` label on any block device.
 * Target `vdb` whatever the boot disk's bus: it is the second virtio disk, or the only one.
 */
function seedXml(s: { pool: string; volume: string }): string[] {
  return [
    // snapshot='no': a snapshot (internal, qcow2) leaves the raw seed out, which qemu-img and
    // libvirt would otherwise refuse on a halted machine; the seed is rewritten at each boot anyway.
    `    <disk type='volume' device='disk' snapshot='no'>`,
    `      <driver name='qemu' type='raw'/>`,
    `      <source pool='${esc(s.pool)}' volume='${esc(s.volume)}'/>`,
    `      <target dev='vdb' bus='virtio'/>`,
    `      <readonly/>`,
    `      <serial>${SEED_SERIAL}</serial>`,
    `    </disk>`,
  ];
}

export function ownerTagXml(o: OwnerTag): string {
  return [
    `<boxfest:machine xmlns:boxfest='${METADATA_NS}'>`,
    `  <project>${esc(o.project)}</project>`,
    `  <name>${esc(o.machine)}</name>`,
    `  <digest>${esc(o.digest)}</digest>`,
    `  <created>${esc(o.createdAt)}</created>`,
    ...o.volumes.map((v) => `  <volume pool='${esc(v.pool)}'>${esc(v.name)}</volume>`),
    ...(o.applied === undefined ? [] : [`  <applied>${esc(o.applied)}</applied>`]),
    `</boxfest:machine>`,
  ].join('\n');
}

/** Reads the tag as DOMAIN_GET_METADATA returns it (or as it sits in the domain XML); undefined when it is not one. */
export function parseOwnerTag(xml: string | XmlElement): OwnerTag | undefined {
  const e = typeof xml === 'string' ? parseXml(xml) : xml;
  if (e.localName !== 'machine') return undefined;
  const project = text(child(e, 'project'));
  const machine = text(child(e, 'name'));
  if (project === undefined || machine === undefined) return undefined;
  const applied = text(child(e, 'applied'));
  return {
    project,
    machine,
    digest: text(child(e, 'digest')) ?? '',
    createdAt: text(child(e, 'created')) ?? '',
    volumes: children(e, 'volume').map((v) => ({ pool: attr(v, 'pool') ?? '', name: text(v) ?? '' })),
    ...(applied === undefined ? {} : { applied }),
  };
}

/**
 * The devices of live shares, with QEMU's semantics (providers/qemu/args.ts). virtiofs: libvirt
 * starts a virtiofsd per share itself (found through QEMU's vhost-user descriptor,
 * /usr/share/qemu/vhost-user/50-qemu-virtiofsd.json on Debian; its default cache mode is `auto`,
 * as boxfest's own) and only `passthrough` is allowed; the guest's RAM must be shared memory
 * (memoryBackingXml). 9p: `accessmode='mapped'` is QEMU's `security_model=mapped`, i.e.
 * mapped-xattr, so a guest chown lands in the host files' `user.virtfs.*` xattrs, not their owners.
 */
function shareXml(s: DomainShare): string[] {
  return [
    `    <filesystem type='mount' accessmode='${s.type === 'virtiofs' ? 'passthrough' : 'mapped'}'>`,
    `      <driver type='${s.type === 'virtiofs' ? 'virtiofs' : 'path'}'/>`,
    `      <source dir='${esc(s.src)}'/>`,
    `      <target dir='${esc(s.tag)}'/>`,
    `    </filesystem>`,
  ];
}

/** virtiofsd maps the guest's RAM: a memfd shared with it (QEMU's `memory-backend-memfd,share=on`). */
const memoryBackingXml = (shares: readonly DomainShare[]): string[] =>
  shares.some((s) => s.type === 'virtiofs')
    ? [`  <memoryBacking>`, `    <source type='memfd'/>`, `    <access mode='shared'/>`, `  </memoryBacking>`]
    : [];

function nicXml(n: DomainNic): string[] {
  const [open, source] =
    n.kind === 'network'
      ? ['network', `<source network='${esc(n.network)}'/>`]
      : n.kind === 'bridge'
        ? ['bridge', `<source bridge='${esc(n.bridge)}'/>`]
        : ['direct', `<source dev='${esc(n.dev)}' mode='bridge'/>`];
  return [
    `    <interface type='${open}'>`,
    `      <mac address='${esc(n.mac)}'/>`,
    `      ${source}`,
    `      <model type='virtio'/>`,
    `    </interface>`,
  ];
}

export function domainXml(d: DomainSpec): string {
  return [
    `<domain type='${d.virtType}'>`,
    `  <name>${esc(d.name)}</name>`,
    ...(d.uuid === undefined ? [] : [`  <uuid>${esc(d.uuid)}</uuid>`]),
    `  <metadata>`,
    ownerTagXml(d.owner)
      .split('\n')
      .map((l) => `    ${l}`)
      .join('\n'),
    `  </metadata>`,
    `  <memory unit='MiB'>${d.memoryMiB}</memory>`,
    ...memoryBackingXml(d.shares ?? []),
    `  <vcpu>${d.cpus}</vcpu>`,
    `  <os>`,
    `    <type arch='x86_64'>hvm</type>`,
    `    <boot dev='hd'/>`,
    `  </os>`,
    // ACPI: the power button of a graceful halt.
    `  <features>`,
    `    <acpi/>`,
    `    <apic/>`,
    `  </features>`,
    ...(d.virtType === 'kvm' ? [`  <cpu mode='host-passthrough'/>`] : []),
    `  <clock offset='utc'/>`,
    `  <on_poweroff>destroy</on_poweroff>`,
    `  <on_reboot>restart</on_reboot>`,
    `  <on_crash>destroy</on_crash>`,
    `  <devices>`,
    `    <disk type='volume' device='disk'>`,
    `      <driver name='qemu' type='qcow2' discard='unmap'/>`,
    `      <source pool='${esc(d.disk.pool)}' volume='${esc(d.disk.volume)}'/>`,
    `      <target dev='${DISK_TARGET[d.disk.bus]}' bus='${d.disk.bus}'/>`,
    `    </disk>`,
    ...(d.seed === undefined ? [] : seedXml(d.seed)),
    ...d.nics.flatMap(nicXml),
    ...(d.shares ?? []).flatMap(shareXml),
    // The console, logged from the start of each boot: the tail goes into boot error messages.
    `    <serial type='pty'>`,
    `      <log file='${esc(d.serialLog)}' append='off'/>`,
    `      <target port='0'/>`,
    `    </serial>`,
    `    <console type='pty'>`,
    `      <target type='serial' port='0'/>`,
    `    </console>`,
    // The QEMU guest agent's channel: its address when the box runs the agent and has no lease.
    `    <channel type='unix'>`,
    `      <target type='virtio' name='org.qemu.guest_agent.0'/>`,
    `    </channel>`,
    `    <rng model='virtio'>`,
    `      <backend model='random'>/dev/urandom</backend>`,
    `    </rng>`,
    `    <memballoon model='none'/>`,
    `  </devices>`,
    `</domain>`,
    '',
  ].join('\n');
}

/** What boxfest reads back from a domain's XML. */
export interface DomainFacts {
  uuid: string;
  virtType: string;
  owner: OwnerTag | undefined;
  /** Networks its NICs are on (`<interface type='network'>`). */
  networks: string[];
  macs: string[];
  serialLog: string | undefined;
  /** Its `<disk>`s in order: the volume each comes from, and whether the guest may write it. */
  disks: DomainDisk[];
}

export interface DomainDisk {
  pool: string | undefined;
  volume: string | undefined;
  /** `<driver type>`: qcow2, raw. */
  format: string | undefined;
  readonly: boolean;
  serial: string | undefined;
}

export function domainFacts(xml: string): DomainFacts {
  const d = parseXml(xml);
  const devices = child(d, 'devices');
  const ifaces = devices === undefined ? [] : children(devices, 'interface');
  const serial = devices === undefined ? undefined : child(devices, 'serial');
  const disks = devices === undefined ? [] : children(devices, 'disk');
  const meta = child(d, 'metadata');
  const tag =
    meta === undefined ? undefined : children(meta, 'machine').find((e) => e.namespaceURI === METADATA_NS);
  return {
    uuid: text(child(d, 'uuid')) ?? '',
    virtType: attr(d, 'type') ?? '',
    owner: tag === undefined ? undefined : parseOwnerTag(tag),
    networks: ifaces
      .filter((i) => attr(i, 'type') === 'network')
      .map((i) => attr(child(i, 'source'), 'network') ?? ''),
    macs: ifaces.map((i) => attr(child(i, 'mac'), 'address') ?? ''),
    serialLog: attr(serial === undefined ? undefined : child(serial, 'log'), 'file'),
    disks: disks.map((k) => ({
      pool: attr(child(k, 'source'), 'pool'),
      volume: attr(child(k, 'source'), 'volume'),
      format: attr(child(k, 'driver'), 'type'),
      readonly: child(k, 'readonly') !== undefined,
      serial: text(child(k, 'serial')),
    })),
  };
}
