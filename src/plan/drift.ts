// What changed between the Boxfile and a machine's applied spec, and what it takes to apply each
// change. Pure: `reconcile` and its tests call it with plain values.
import type { MachineSpec, Network } from '../config/types.js';
import { bootPart, cloudInitDigest, inPlacePart, stableJson, type AppliedSpec } from '../state/applied.js';

/**
 * in_place: the next `up` applies it to the running machine (hostname, folders, provisioners);
 * reload: needs a new VM process (halt, then boot): cpus, memory, NICs, ports, live shared folders
 * (their devices), qemu settings;
 * recreate: needs a new disk (destroy, then create): box, box version, disk interface, the libvirt
 * daemon or pool, cloud-init user-data (cloud-init applies it once per instance).
 */
export type ChangeClass = 'in_place' | 'reload' | 'recreate';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [k: string]: JsonValue };

export interface Change {
  /** The Boxfile key, e.g. `memory`, `qemu.extra_args`, `synced_folders[/srv/app]`, `provision[setup]`. */
  field: string;
  class: ChangeClass;
  /** The applied value; null when the item was not there. */
  from: JsonValue;
  /** The Boxfile's value; null when the item was removed. */
  to: JsonValue;
  message: string;
}

const json = (v: unknown): JsonValue =>
  v === undefined ? null : (JSON.parse(JSON.stringify(v)) as JsonValue);
const same = (a: unknown, b: unknown) => stableJson(a) === stableJson(b);
const show = (v: unknown) =>
  v === null || v === undefined ? 'unset' : typeof v === 'string' ? v : stableJson(v);

function scalar(field: string, cls: ChangeClass, from: unknown, to: unknown, unit = ''): Change[] {
  if (from === undefined || same(from, to)) return []; // undefined: an older state.json did not record it
  return [
    {
      field,
      class: cls,
      from: json(from),
      to: json(to),
      message: `${field} changed from ${show(from)}${unit} to ${show(to)}${unit}`,
    },
  ];
}

/**
 * Every change, in a fixed order: recreate ones first, then reload, then in place. `networks`: the
 * Environment's, so a changed network definition (a new CIDR, another bridge) is seen too.
 */
export function changesOf(spec: MachineSpec, applied: AppliedSpec, networks: readonly Network[]): Change[] {
  const boot = bootPart(spec, networks);
  const inPlace = inPlacePart(spec);
  return [
    ...scalar('box', 'recreate', applied.box, spec.box),
    ...scalar('box_version', 'recreate', applied.boxVersion, spec.boxVersion ?? null),
    // Unset in the Boxfile means "the box's": only a setting that names another one is a change.
    ...(spec.qemu.diskInterface === undefined
      ? []
      : scalar('qemu.disk_interface', 'recreate', applied.diskInterface, spec.qemu.diskInterface)),
    ...(spec.provider === 'libvirt'
      ? [
          ...scalar('libvirt.uri', 'recreate', applied.libvirt?.uri, spec.libvirt.uri),
          ...scalar('libvirt.pool', 'recreate', applied.libvirt?.pool, spec.libvirt.pool),
        ]
      : []),
    ...scalar('cloud_init', 'recreate', applied.cloudInit, cloudInitDigest(spec.cloudInit)),
    ...scalar('cpus', 'reload', applied.cpus, boot.cpus),
    ...scalar('memory', 'reload', applied.memory, boot.memory, ' MiB'),
    ...scalar('disk_size', 'reload', applied.diskSize, boot.diskSize, ' MiB'),
    ...scalar('disks', 'reload', applied.disks, boot.disks),
    ...scalar('networks', 'reload', applied.networks, boot.networks),
    ...definitionChanges(applied.networkDefinitions, boot.networkDefinitions ?? []),
    ...scalar('forwarded_ports', 'reload', applied.forwardedPorts, boot.forwardedPorts),
    ...scalar('synced_folders (live shares)', 'reload', applied.shares, boot.shares),
    ...scalar('qemu.accel', 'reload', applied.qemu?.accel, boot.qemu?.accel),
    ...scalar('qemu.restrict_network', 'reload', applied.qemu?.restrictNetwork, boot.qemu?.restrictNetwork),
    ...scalar('qemu.extra_args', 'reload', applied.qemu?.extraArgs, boot.qemu?.extraArgs),
    ...scalar('libvirt.management_network', 'reload', applied.managementNetwork, boot.managementNetwork),
    ...scalar('hostname', 'in_place', applied.hostname, inPlace.hostname),
    ...itemChanges(
      'synced_folders',
      applied.syncedFolders,
      inPlace.syncedFolders ?? [],
      (f) => f.dest,
      'synced folder',
      '(files already in the guest are kept)',
    ),
    ...itemChanges(
      'provision',
      applied.provisioners,
      // A `run: never` provisioner runs only when named: adding one changes nothing at `up`.
      (inPlace.provisioners ?? []).filter((p) => p.run !== 'never'),
      (p) => p.name,
      'provisioner',
      '(nothing to undo)',
      (applied.provisioners ?? []).filter((p) => p.run !== 'never'),
    ),
  ];
}

/**
 * A network the machine stays attached to whose definition changed: its NIC is on the old
 * network (QEMU plugs it at boot; the guest keeps the old address) until the machine reboots.
 * Attaching or detaching shows as a `networks` change already.
 */
function definitionChanges(applied: Network[] | undefined, desired: Network[]): Change[] {
  if (applied === undefined) return [];
  const before = new Map(applied.map((n) => [n.name, n]));
  return desired.flatMap((n): Change[] => {
    const old = before.get(n.name);
    if (old === undefined || same(old, n)) return [];
    const what = (x: Network) =>
      x.type === 'private' ? `private ${x.cidr}${x.dhcp ? ' dhcp' : ''}` : `bridged to ${x.interface}`;
    return [
      {
        field: `networks.${n.name}`,
        class: 'reload',
        from: json(old),
        to: json(n),
        message: `network ${n.name} changed from ${what(old)} to ${what(n)}`,
      },
    ];
  });
}

/** Added, removed and changed items of a list keyed by `key`, in the Boxfile's order. */
function itemChanges<T>(
  field: string,
  applied: T[] | undefined,
  desired: T[],
  key: (t: T) => string,
  what: string,
  removedNote: string,
  appliedForRemoval: T[] | undefined = applied,
): Change[] {
  if (applied === undefined) return [];
  const before = new Map(applied.map((x) => [key(x), x]));
  const after = new Map(desired.map((x) => [key(x), x]));
  const out: Change[] = [];
  for (const [k, x] of after) {
    const old = before.get(k);
    if (old === undefined)
      out.push({
        field: `${field}[${k}]`,
        class: 'in_place',
        from: null,
        to: json(x),
        message: `${what} ${k} added`,
      });
    else if (!same(old, x))
      out.push({
        field: `${field}[${k}]`,
        class: 'in_place',
        from: json(old),
        to: json(x),
        message: `${what} ${k} changed`,
      });
  }
  for (const x of appliedForRemoval ?? [])
    if (!after.has(key(x)))
      out.push({
        field: `${field}[${key(x)}]`,
        class: 'in_place',
        from: json(x),
        to: null,
        message: `${what} ${key(x)} removed ${removedNote}`,
      });
  return out;
}

/**
 * Why `changes` would shrink a disk (`disk_size` or a data disk made smaller), or undefined. A
 * disk never shrinks: the filesystem in it would lose whatever lies beyond its new end.
 */
export function shrinkOf(changes: readonly Change[]): string | undefined {
  for (const c of changes) {
    if (c.field === 'disk_size' && typeof c.from === 'number') {
      const to = typeof c.to === 'number' ? c.to : undefined;
      if (to === undefined || to < c.from)
        return `disk_size would go from ${c.from} MiB to ${to === undefined ? "the box's size" : `${to} MiB`}`;
    }
    if (c.field === 'disks' && Array.isArray(c.from) && Array.isArray(c.to)) {
      const before = new Map(c.from.map((d) => [(d as { name: string }).name, (d as { size: number }).size]));
      for (const d of c.to as { name: string; size: number }[]) {
        const old = before.get(d.name);
        if (old !== undefined && d.size < old)
          return `data disk \`${d.name}\` would go from ${old} MiB to ${d.size} MiB`;
      }
    }
  }
  return undefined;
}
