// The libvirt client of the provider, and its one choke point: every procedure goes through
// `call`, which maps any failure to a typed BoxfestError (errors.ts). One connection per URI per
// process, opened on first use and shared by the machines of a command; it never keeps the
// process alive while idle.
//
// Why libvirt's RPC protocol from TypeScript rather than a `virsh` session: measured on this
// machine (bench/libvirt-calls.js, run by `npm run bench:libvirt`), connecting costs a few ms
// instead of a virsh spawn of 50-80 ms, a call ~0.2-0.4 ms instead of 1.5-2 ms, errors come as
// numbers instead of English text, XML goes in as a string instead of a temp file, uploads report
// exact progress, and a remote host (#16) is one more channel on the ssh2 connection boxfest needs
// for its guests anyway.
import { createReadStream } from 'node:fs';
import { BoxfestError } from '../../errors.js';
import { libvirtError } from './errors.js';
import { RpcConnection, type Transport } from './rpc/connection.js';
import { PROC, Procedures } from './rpc/procedures.js';
import { openTransport } from './rpc/transport.js';
import type { VolumeRef } from './rpc/wire.js';
import type { XdrWriter } from './rpc/xdr.js';
import { usableUri, type LibvirtUri } from './uri.js';

/** libvirt's remote_auth_type. */
const AUTH = { NONE: 0, SASL: 1, POLKIT: 2 } as const;

/** Calls that may legitimately take long (a boot, a save, a shutdown of a slow guest) get more time. */
const SLOW: ReadonlySet<number> = new Set([
  PROC.DOMAIN_CREATE_WITH_FLAGS,
  PROC.DOMAIN_DESTROY_FLAGS,
  PROC.DOMAIN_SNAPSHOT_CREATE_XML,
  PROC.DOMAIN_REVERT_TO_SNAPSHOT,
  PROC.DOMAIN_SNAPSHOT_DELETE,
  PROC.STORAGE_VOL_CREATE_XML,
  PROC.STORAGE_VOL_DELETE,
  PROC.NETWORK_CREATE,
  PROC.NETWORK_DESTROY,
]);
const CALL_TIMEOUT_MS = 60_000;
const SLOW_TIMEOUT_MS = 300_000;

/** BOXFEST_DEBUG=1: every call on stderr with its time, so "how often is a host asked" is seen. */
const TRACE = process.env['BOXFEST_DEBUG'] === '1';
const PROC_NAMES = new Map<number, string>(Object.entries(PROC).map(([name, n]) => [n, name]));

export class LibvirtClient {
  readonly api: Procedures;

  private constructor(
    readonly uri: LibvirtUri,
    private readonly conn: RpcConnection,
    readonly where: string,
  ) {
    this.api = new Procedures((proc, args) => this.call(proc, args));
  }

  /** The choke point: one procedure call, any failure as a BoxfestError. */
  private async call(proc: number, args?: XdrWriter) {
    const t0 = TRACE ? performance.now() : 0;
    try {
      return await this.conn.call(proc, args, SLOW.has(proc) ? SLOW_TIMEOUT_MS : CALL_TIMEOUT_MS);
    } catch (e) {
      throw libvirtError(e, proc, this.where);
    } finally {
      if (TRACE)
        process.stderr.write(
          `boxfest debug: libvirt ${this.uri.text} ${PROC_NAMES.get(proc) ?? proc} ${(performance.now() - t0).toFixed(1)} ms\n`,
        );
    }
  }

  /** Connects and does what libvirt's own client does: AUTH_LIST, polkit if asked, CONNECT_OPEN. */
  static async open(uri: LibvirtUri, transport?: Transport): Promise<LibvirtClient> {
    let t: Transport;
    try {
      t = transport ?? (await openTransport(uri));
    } catch (e) {
      throw libvirtError(e, undefined, uri.text);
    }
    const client = new LibvirtClient(uri, new RpcConnection(t), `${uri.text} (${t.describe})`);
    try {
      const auth = await client.api.authList();
      if (auth.length > 0 && !auth.includes(AUTH.NONE)) {
        if (auth.includes(AUTH.POLKIT)) await client.api.authPolkit();
        else
          throw new BoxfestError(
            'LIBVIRT_ACCESS_DENIED',
            `libvirt at ${uri.text} asks for SASL authentication`,
            {
              hint: 'boxfest connects without SASL: use a unix socket the daemon lets you use without it (root, or the `libvirt` group)',
            },
          );
      }
      await client.api.open(uri.driverUri);
    } catch (e) {
      client.close();
      throw e;
    }
    return client;
  }

  /**
   * Streams a file into a volume (STORAGE_VOL_UPLOAD): the volume's bytes are replaced by the
   * file's. Returns the bytes sent.
   */
  async upload(
    vol: VolumeRef,
    file: string,
    size: number,
    onProgress?: (sent: number) => void,
  ): Promise<number> {
    try {
      return await this.conn.upload(
        PROC.STORAGE_VOL_UPLOAD,
        Procedures.uploadArgs(vol, size),
        createReadStream(file, { highWaterMark: 1 << 20 }),
        onProgress,
      );
    } catch (e) {
      throw libvirtError(e, PROC.STORAGE_VOL_UPLOAD, this.where);
    }
  }

  /** Every packet in and out (recording real traffic for the unit tests' fixtures). */
  set onPacket(f: ((direction: 'in' | 'out', packet: Buffer) => void) | undefined) {
    this.conn.onPacket = f;
  }

  get closed(): boolean {
    return this.conn.closed;
  }

  close(): void {
    this.conn.close();
  }
}

const clients = new Map<string, Promise<LibvirtClient>>();

/** The process's connection to `uriText` (opened once; a failed open is retried by the next caller). */
export function clientFor(uriText: string): Promise<LibvirtClient> {
  let c = clients.get(uriText);
  if (c === undefined) {
    const parsed = usableUri(uriText);
    if (!parsed.ok)
      return Promise.reject(new BoxfestError('CONFIG_INVALID', parsed.problem, { hint: parsed.hint }));
    c = LibvirtClient.open(parsed.uri);
    clients.set(uriText, c);
    c.catch(() => clients.delete(uriText));
  }
  return c.then((client) => {
    // A connection the daemon dropped (restarted) is opened anew.
    if (!client.closed) return client;
    clients.delete(uriText);
    return clientFor(uriText);
  });
}
