// Which failed second start is libvirtd's late cleanup of the first (tried once more), and which
// is the guest's own failure (reported): the messages as libvirt 9.0 gave them on this host.
import { describe, expect, it } from 'vitest';
import { BoxfestError } from '../../../src/errors.js';
import { killedByLibvirtd } from '../../../src/providers/libvirt/start-fallback.js';

describe('killedByLibvirtd', () => {
  it.each([
    [
      'internal error: qemu unexpectedly closed the monitor: 2026-12-05T13:27:28.790993Z qemu-system-x86_64: terminating on signal 15 from pid 19269 (/usr/sbin/libvirtd)',
      true,
    ],
    [
      'internal error: qemu unexpectedly closed the monitor: 2026-12-05T13:27:28.632321Z qemu-system-x86_64: error: failed to set MSR 0x10a to 0x69',
      false,
    ],
    ['qemu-system-x86_64: terminating on signal 15 from pid 4242 (timeout)', false],
    ['Cannot access storage file', false],
  ])('%s → %s', (message, want) => {
    expect(killedByLibvirtd(new BoxfestError('LIBVIRT_ERROR', `libvirt: ${message}`))).toBe(want);
  });
});
