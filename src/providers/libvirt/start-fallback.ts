// Starting a domain again right after its start failed (KVM that the host advertises but cannot
// run: QEMU 7.2 aborting on "failed to set MSR 0x10a", seen on this kind of machine). libvirt 9.0
// stops the failed QEMU's domain once more from a queued monitor-EOF event; a start made before
// that event ran had its new QEMU killed by libvirtd ("terminating on signal 15 from
// /usr/sbin/libvirtd", 0.1 s into the TCG start; seen with two `up`s on one daemon at once).
import { sleep } from '../../state/process.js';
import { errorMessage } from '../../errors.js';
import type { LibvirtClient } from './client.js';
import type { DomainRef } from './rpc/wire.js';

/** Before the second start: time for libvirt's queued event of the failed one to run. */
const SETTLE_MS = 500;
/** A second start that libvirtd itself killed is tried once more, after this. */
const RETRY_MS = 1_500;

/** libvirtd ended the QEMU it was starting: the failed start's late cleanup, not the guest. */
export const killedByLibvirtd = (e: unknown): boolean =>
  /terminating on signal 15 from .*libvirtd/.test(errorMessage(e));

/** Starts the domain `define` (re)defines, after a failed start of the same domain. */
export async function startAfterFailedStart(
  c: LibvirtClient,
  define: () => Promise<DomainRef>,
): Promise<void> {
  await sleep(SETTLE_MS);
  try {
    await c.api.startDomain(await define());
  } catch (e) {
    if (!killedByLibvirtd(e)) throw e;
    await sleep(RETRY_MS);
    await c.api.startDomain(await define());
  }
}
