// Snapshots as libvirt snapshots: internal qcow2 snapshots of the overlay, kept by libvirt with
// their metadata. A snapshot of a running machine holds its RAM too (libvirt requires that of an
// internal snapshot of a running domain); one of a halted machine is disk only. A restore follows
// the Snapshotter contract, as on QEMU: the machine is halted before and after, so the guest boots
// from the snapshot's disk (a running snapshot is reverted paused and then powered off).
import type { SnapshotInfo } from '../optional.js';
import type { LibvirtClient } from './client.js';
import { DomainState, Flags } from './rpc/procedures.js';
import type { DomainRef } from './rpc/wire.js';
import { attr, child, parseXml, text } from './xml.js';

export async function saveLibvirtSnapshot(c: LibvirtClient, dom: DomainRef, name: string): Promise<void> {
  await c.api.createSnapshot(dom, `<domainsnapshot><name>${name}</name></domainsnapshot>`);
}

export async function listLibvirtSnapshots(c: LibvirtClient, dom: DomainRef): Promise<SnapshotInfo[]> {
  const out: SnapshotInfo[] = [];
  for (const snap of await c.api.listSnapshots(dom)) {
    const x = parseXml(await c.api.snapshotXml(snap));
    const created = Number(text(child(x, 'creationTime')) ?? '0');
    const withRam = attr(child(x, 'memory'), 'snapshot') === 'internal';
    // libvirt does not say how large the saved RAM is: the guest's memory is its upper bound.
    const kib = Number(text(child(child(x, 'domain') ?? x, 'memory')) ?? '0');
    out.push({
      name: snap.name,
      createdAt: new Date(created * 1000).toISOString(),
      vmStateSize: withRam ? kib * 1024 : 0,
    });
  }
  return out.sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : 0));
}

/** The domain must be shut off; it is shut off afterwards. */
export async function restoreLibvirtSnapshot(c: LibvirtClient, dom: DomainRef, name: string): Promise<void> {
  const snap = await c.api.lookupSnapshot(dom, name);
  await c.api.revertToSnapshot(snap, Flags.REVERT_PAUSED);
  const { state } = await c.api.domainState(dom);
  if (state !== DomainState.SHUTOFF) await c.api.destroyDomain(dom);
}

export async function deleteLibvirtSnapshot(c: LibvirtClient, dom: DomainRef, name: string): Promise<void> {
  await c.api.deleteSnapshot(await c.api.lookupSnapshot(dom, name));
}
