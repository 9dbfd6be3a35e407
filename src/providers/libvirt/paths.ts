// The libvirt provider's own files. On this host, in the machine's directory: the port forwarder
// of its forwarded ports (libvirt has none of its own). On the libvirt host: the serial log.
import { join } from 'node:path';

/** A machine's files on this host (`machinePaths(...).dir`). */
export const libvirtPaths = (machineDir: string) => ({
  /** The forwarder's work: which host ports go to which guest address and port (JSON). */
  forwards: join(machineDir, 'forwards.json'),
  /** The forwarder process; trusted only when its command line names `forwards`. */
  forwarderPid: join(machineDir, 'forwarder.pid'),
  forwarderLog: join(machineDir, 'forwarder.log'),
});

export type LibvirtPaths = ReturnType<typeof libvirtPaths>;

/**
 * The serial console log of a domain, on the libvirt host, where libvirt keeps each domain's log
 * (and where its logging daemon and security drivers let QEMU write). Rewritten at every boot.
 */
export const serialLogPath = (domain: string) => `/var/log/libvirt/qemu/${domain}-serial.log`;
