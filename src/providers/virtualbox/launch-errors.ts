// A launch that fails because VirtualBox has no kernel driver, said in plain words with the fix.
import { BoxfestError } from '../../errors.js';
import { VboxFault } from './faults.js';

const NO_DRIVER =
  /Kernel driver not installed|VERR_VM_DRIVER_NOT_INSTALLED|-1908|\/dev\/vboxdrv|terminated unexpectedly during startup/i;

// Through the web service, VirtualBox only says the VM process "terminated unexpectedly during
// startup with exit code 1"; VBoxHeadless itself prints "Kernel driver not installed" (-1908).
const EXPLICIT = /Kernel driver not installed|VERR_VM_DRIVER_NOT_INSTALLED|-1908|\/dev\/vboxdrv/i;

export function explainLaunchFailure(e: unknown, machine: string): unknown {
  if (!(e instanceof VboxFault) || !NO_DRIVER.test(`${e.text}\n${e.details ?? ''}`)) return e;
  const certain = EXPLICIT.test(e.text);
  return new BoxfestError(
    'VBOX_NO_KERNEL_DRIVER',
    certain
      ? `VirtualBox could not start machine ${machine}: the VirtualBox kernel driver (vboxdrv) is not installed on the server host`
      : `VirtualBox could not start machine ${machine}: its VM process exited during startup, which on Linux almost always means the VirtualBox kernel driver (vboxdrv) is not loaded on the server host`,
    {
      details: `VirtualBox said: ${e.text}`,
      hint:
        'on the host running vboxwebsrv, install the kernel modules (Debian/Ubuntu: `apt-get install virtualbox-dkms` ' +
        'and the kernel headers) and load them with `modprobe vboxdrv`, or use `provider: qemu`. The machine stays ' +
        'registered; `boxfest up` retries the start, `boxfest destroy` removes it',
      cause: e,
    },
  );
}
