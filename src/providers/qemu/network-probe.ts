// Telling from the host when a booting guest's network is up, with nothing in the guest: a
// forward from a host port the kernel picks to a guest port nothing listens on. QEMU's NAT takes
// the connection at once and passes the SYN on; the guest resets it as soon as its network is up,
// and until then the SYN is lost. Added to the running QEMU for the wait for SSH, then removed.
import type { GuestNetworkProbe } from '../provider.js';
import { qmpExecute } from './qmp.js';

/** tcpmux: nothing listens there on a guest; one that does answers, which says the same. */
const GUEST_PORT = 1;

const hmp = async (qmp: string, commandLine: string): Promise<string> =>
  String(await qmpExecute(qmp, 'human-monitor-command', { 'command-line': commandLine }));

/**
 * Host ports on 127.0.0.1 forwarded to the guest's GUEST_PORT, from HMP's `info usernet` table:
 * `TCP[HOST_FORWARD]  11  127.0.0.1 44443  10.0.2.15  1  0  0`.
 */
export function probeForwards(usernet: string): number[] {
  const ports: number[] = [];
  for (const line of usernet.split('\n')) {
    const m = /^\s*TCP\[HOST_FORWARD\]\s+\d+\s+127\.0\.0\.1\s+(\d+)\s+\S+\s+(\d+)\s/.exec(line);
    if (m !== null && Number(m[2]) === GUEST_PORT) ports.push(Number(m[1]));
  }
  return ports;
}

/**
 * Adds the forward to the QEMU at `qmp` (netdev `nat0`) and finds its port (the one that was not
 * there before). Undefined when QEMU does not say which: the wait then goes without it.
 */
export async function openNetworkProbe(qmp: string): Promise<GuestNetworkProbe | undefined> {
  const before = new Set(probeForwards(await hmp(qmp, 'info usernet')));
  // HMP says nothing on success, and why on failure: the table below tells either way.
  await hmp(qmp, `hostfwd_add nat0 tcp:127.0.0.1:0-:${GUEST_PORT}`);
  const fresh = probeForwards(await hmp(qmp, 'info usernet')).filter((p) => !before.has(p));
  const port = fresh[0];
  if (fresh.length !== 1 || port === undefined) return undefined;
  return {
    endpoint: { host: '127.0.0.1', port },
    close: async () => {
      await hmp(qmp, `hostfwd_remove nat0 tcp:127.0.0.1:${port}`);
    },
  };
}
