// What the guest wrote must be on the host's disk file before state.json says it happened: a
// machine killed a second later (QEMU SIGKILLed, a power cut) reboots from that file.
//
// One `sync` is not enough on QEMU's NVMe disk. Measured (crash test, SIGKILL right after `up`):
// ext4's journal commit from replace-key's `sync` was missing after the reboot, so the guest
// came back with the box's insecure key while state.json said the per-machine key was in place.
// ext4 writes its commit block with FUA and sends no flush after it; QEMU's NVMe emulation
// completes that write without flushing its qcow2 metadata cache, so a commit landing in a newly
// allocated cluster dies with the process. A second `sync` finds the transaction already
// committed and sends an explicit cache flush, which QEMU honours (virtio-blk has no FUA, so the
// kernel flushes there anyway). Cost: one flush, a few milliseconds.

/** Shell: flushes every filesystem of the guest to its disk, through the device's write cache. */
export const FLUSH_TO_DISK = 'sync && sync';
