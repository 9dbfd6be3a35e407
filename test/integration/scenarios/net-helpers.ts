// What the network scenarios share: status and port rows, an HTTP responder provisioner, probes.
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';

export interface StatusRow {
  name: string;
  state: string;
  networks: { network: string; iface: string; address: string; mac: string }[];
}
export interface PortRow {
  name: string;
  ports: {
    guest: number;
    host: number;
    host_ip: string;
    protocol: string;
    requested?: number;
    ssh?: boolean;
  }[];
}

/** Answers HTTP on guest port 80 with the machine's hostname, on every boot. */
export const HTTP_RESPONDER = `
      - name: http
        run: always
        shell: |
          mkdir -p /www && hostname > /www/index.html
          pidof httpd >/dev/null || httpd -p 80 -h /www`;

export async function httpGet(port: number): Promise<string> {
  const r = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(5_000) });
  return (await r.text()).trim();
}

/** Which local address a listening TCP port is bound to, from /proc/net/tcp (hex, little-endian). */
export function listenAddress(port: number): string | undefined {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const [, local, , st] = line.trim().split(/\s+/);
    if (st !== '0A' || !local?.endsWith(`:${hexPort}`)) continue;
    const hex = local.split(':')[0]!;
    return [3, 2, 1, 0].map((i) => parseInt(hex.slice(i * 2, i * 2 + 2), 16)).join('.');
  }
  return undefined;
}

export function hold(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const s = createServer((c) => c.end());
    s.once('error', reject);
    s.listen({ port, host: '127.0.0.1' }, () => resolve(s));
  });
}
