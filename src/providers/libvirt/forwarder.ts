// The port forwarder of a libvirt machine: a small boxfest process on this host that listens on
// the forwarded host ports and relays each connection (TCP) or datagram flow (UDP) to the guest's
// address. libvirt has no NAT port forwarding of its own; this keeps the QEMU provider's
// behaviour (127.0.0.1 unless asked, any port, auto_correct, `boxfest port`) without iptables
// rules on the host. For a machine on a remote libvirt host (#16) it listens here, on the user's
// machine, and dials the guest through the host's SSH server (a `direct-tcpip` channel of its one
// connection to that host, with the host key boxfest pinned): TCP only, which is what SSH carries.
//
// Run as `node forwarder.js FORWARDS.json`; prints `ready` once every port is bound (or
// `error: ...` and exits 1), then runs until SIGTERM.
import { createSocket, type RemoteInfo, type Socket as UdpSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import type { Duplex } from 'node:stream';
import type { PortProtocol } from '../../config/types.js';
import type { HostSpec } from '../../ssh/host-link.js';

export interface Forward {
  protocol: PortProtocol;
  hostIp: string;
  host: number;
  guestIp: string;
  guest: number;
  /** The remote libvirt host whose SSH server reaches the guest (TCP only); unset: dialled directly. */
  via?: HostSpec;
}

/** A connection to the guest's port: direct, or through the host's SSH server. */
async function dial(f: Forward): Promise<Duplex> {
  if (f.via === undefined) return connect({ host: f.guestIp, port: f.guest });
  // Loaded only by forwarders of remote machines: ssh2 is not needed otherwise.
  const { forwardOut } = await import('../../ssh/host-link.js');
  return forwardOut(f.via, f.guestIp, f.guest);
}

/** A UDP flow is forgotten after this long without a datagram. */
const UDP_IDLE_MS = 120_000;

function tcp(f: Forward): Promise<Server> {
  const server = createServer({ pauseOnConnect: true }, (client) => {
    dial(f).then(
      (upstream) => {
        const end = () => {
          client.destroy();
          upstream.destroy();
        };
        client.on('error', end);
        upstream.on('error', end);
        client.pipe(upstream).pipe(client);
        client.resume();
      },
      (e: unknown) => {
        process.stderr.write(`${new Date().toISOString()} ${f.guestIp}:${f.guest}: ${String(e)}\n`);
        client.destroy();
      },
    );
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: f.hostIp, port: f.host, exclusive: true }, () => resolve(server));
  });
}

function udp(f: Forward): Promise<UdpSocket> {
  const sock = createSocket('udp4');
  const flows = new Map<string, { up: UdpSocket; timer: NodeJS.Timeout }>();
  sock.on('message', (msg: Buffer, from: RemoteInfo) => {
    const key = `${from.address}:${from.port}`;
    let flow = flows.get(key);
    if (flow === undefined) {
      const up = createSocket('udp4');
      up.on('message', (reply: Buffer) => sock.send(reply, from.port, from.address));
      up.on('error', () => undefined);
      up.connect(f.guest, f.guestIp);
      flow = { up, timer: setTimeout(() => undefined, 0) };
      flows.set(key, flow);
    }
    clearTimeout(flow.timer);
    const current = flow;
    current.timer = setTimeout(() => {
      current.up.close();
      flows.delete(key);
    }, UDP_IDLE_MS);
    const send = () => current.up.send(msg);
    // A socket that is still connecting queues the datagram until it is.
    if (current.up.remoteAddress === undefined) current.up.once('connect', send);
    else send();
  });
  return new Promise((resolve, reject) => {
    sock.once('error', reject);
    sock.bind({ address: f.hostIp, port: f.host, exclusive: true }, () => resolve(sock));
  });
}

/** Binds every forward; the first failure closes what was bound and throws. */
export async function listen(forwards: readonly Forward[]): Promise<() => void> {
  const open: (Server | UdpSocket)[] = [];
  const closeAll = () => {
    for (const s of open) s.close();
  };
  try {
    for (const f of forwards) open.push(f.protocol === 'udp' ? await udp(f) : await tcp(f));
  } catch (e) {
    closeAll();
    throw e;
  }
  return closeAll;
}

async function main(file: string): Promise<void> {
  let close: () => void;
  try {
    close = await listen(JSON.parse(readFileSync(file, 'utf8')) as Forward[]);
  } catch (e) {
    process.stdout.write(`error: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  }
  process.stdout.write('ready\n');
  process.stdout.on('error', () => undefined); // the parent stops reading once ready
  const stop = () => {
    close();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.on('SIGHUP', () => undefined);
}

if (process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  const file = process.argv[2];
  if (file === undefined) {
    process.stderr.write('usage: forwarder.js FORWARDS.json\n');
    process.exit(2);
  }
  void main(file);
}
