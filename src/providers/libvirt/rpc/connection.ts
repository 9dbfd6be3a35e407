// One RPC connection to a libvirt daemon over any byte stream (a unix socket here; #16 adds an
// ssh2 channel). Calls are pipelined: each gets the next serial, replies are matched by serial
// (the daemon answers out of order), and a closed stream fails every pending call. Keepalive
// PINGs are answered. While no call is pending the transport is unref'd, so an idle connection
// never keeps boxfest's process alive.
import type { Duplex } from 'node:stream';
import {
  encodePacket,
  KEEPALIVE_PING,
  KEEPALIVE_PONG,
  KEEPALIVE_PROGRAM,
  PacketParser,
  PacketStatus,
  PacketType,
  PROTOCOL_VERSION,
  readRemoteError,
  REMOTE_PROGRAM,
  STREAM_CHUNK,
  type Packet,
  type RemoteError,
} from './wire.js';
import { XdrReader, type XdrWriter } from './xdr.js';

/** The daemon refused a call: its virErrorNumber, virErrorDomain and message. */
export class RemoteCallError extends Error {
  override name = 'RemoteCallError';
  constructor(
    readonly proc: number,
    readonly error: RemoteError,
  ) {
    super(error.message ?? `libvirt error ${error.code}`);
  }
}

/** The connection is gone (the daemon stopped, the socket closed): nothing more can be sent. */
export class ConnectionClosedError extends Error {
  override name = 'ConnectionClosedError';
}

/** A call got no answer in time; the connection is closed after it (its reply would be stale). */
export class CallTimeoutError extends Error {
  override name = 'CallTimeoutError';
  constructor(
    readonly proc: number,
    readonly timeoutMs: number,
  ) {
    super(`libvirt call ${proc} got no answer within ${timeoutMs / 1000} s`);
  }
}

/** What a transport gives: the stream, and how to let the process exit while it is idle. */
export interface Transport {
  stream: Duplex;
  ref?: () => void;
  unref?: () => void;
  /** For messages: `unix:/run/libvirt/libvirt-sock`. */
  describe: string;
}

interface Pending {
  resolve: (r: XdrReader) => void;
  reject: (e: Error) => void;
  proc: number;
  timer?: NodeJS.Timeout | undefined;
}

interface StreamWaiter {
  resolve: () => void;
  reject: (e: Error) => void;
}

export class RpcConnection {
  private serial = 0;
  private readonly pending = new Map<number, Pending>();
  private readonly streams = new Map<number, StreamWaiter>();
  private readonly parser = new PacketParser();
  private closedBy: Error | undefined;
  /** Every packet in and out, for recording real traffic (test fixtures). */
  onPacket: ((direction: 'in' | 'out', packet: Buffer) => void) | undefined;

  constructor(private readonly transport: Transport) {
    const s = transport.stream;
    s.on('data', (d: Buffer) => this.receive(d));
    s.on('error', (e: Error) => this.fail(new ConnectionClosedError(`${transport.describe}: ${e.message}`)));
    s.on('close', () => this.fail(new ConnectionClosedError(`${transport.describe}: the connection closed`)));
    s.on('end', () =>
      this.fail(new ConnectionClosedError(`${transport.describe}: the daemon ended the connection`)),
    );
    this.idle();
  }

  get closed(): boolean {
    return this.closedBy !== undefined;
  }

  private busy(): void {
    this.transport.ref?.();
  }

  private idle(): void {
    if (this.pending.size === 0 && this.streams.size === 0) this.transport.unref?.();
  }

  private fail(e: Error): void {
    if (this.closedBy !== undefined) return;
    this.closedBy = e;
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(e);
    }
    this.pending.clear();
    for (const st of this.streams.values()) st.reject(e);
    this.streams.clear();
    this.transport.stream.destroy();
  }

  private receive(data: Buffer): void {
    let packets: Packet[];
    try {
      packets = this.parser.push(data);
    } catch (e) {
      this.fail(new ConnectionClosedError(`${this.transport.describe}: ${(e as Error).message}`));
      return;
    }
    this.onPacket?.('in', data);
    for (const p of packets) this.dispatch(p);
    this.idle();
  }

  private dispatch(p: Packet): void {
    if (p.prog === KEEPALIVE_PROGRAM) {
      if (p.proc === KEEPALIVE_PING)
        this.send(KEEPALIVE_PROGRAM, KEEPALIVE_PONG, PacketType.MESSAGE, 0, PacketStatus.OK);
      return;
    }
    if (p.prog !== REMOTE_PROGRAM) return;
    if (p.type === PacketType.REPLY) {
      const waiter = this.pending.get(p.serial);
      if (waiter === undefined) return;
      this.pending.delete(p.serial);
      clearTimeout(waiter.timer);
      if (p.status === PacketStatus.OK) waiter.resolve(new XdrReader(p.payload));
      else waiter.reject(this.remoteError(p));
    } else if (p.type === PacketType.STREAM) {
      const st = this.streams.get(p.serial);
      if (st === undefined) return;
      if (p.status === PacketStatus.ERROR) {
        this.streams.delete(p.serial);
        st.reject(this.remoteError(p));
      } else if (p.status === PacketStatus.OK) {
        this.streams.delete(p.serial);
        st.resolve();
      }
      // CONTINUE: data from the daemon (downloads); boxfest only uploads.
    }
    // MESSAGE: domain events, which boxfest does not register for.
  }

  private remoteError(p: Packet): Error {
    try {
      return new RemoteCallError(p.proc, readRemoteError(new XdrReader(p.payload)));
    } catch (e) {
      return new ConnectionClosedError(
        `${this.transport.describe}: unreadable error from the daemon (${(e as Error).message})`,
      );
    }
  }

  private send(
    prog: number,
    proc: number,
    type: number,
    serial: number,
    status: number,
    payload?: Buffer,
  ): boolean {
    const packet = encodePacket({ prog, vers: PROTOCOL_VERSION, proc, type, serial, status }, payload);
    this.onPacket?.('out', packet);
    return this.transport.stream.write(packet);
  }

  /** One procedure call: the reply's payload, or a RemoteCallError with the daemon's error. */
  call(proc: number, args?: XdrWriter, timeoutMs?: number): Promise<XdrReader> {
    if (this.closedBy !== undefined) return Promise.reject(this.closedBy);
    const serial = ++this.serial;
    return new Promise<XdrReader>((resolve, reject) => {
      const waiter: Pending = { resolve, reject, proc };
      if (timeoutMs !== undefined)
        waiter.timer = setTimeout(() => this.fail(new CallTimeoutError(proc, timeoutMs)), timeoutMs);
      this.pending.set(serial, waiter);
      this.busy();
      this.send(REMOTE_PROGRAM, proc, PacketType.CALL, serial, PacketStatus.OK, args?.toBuffer());
    });
  }

  /**
   * A call that opens an upload stream (STORAGE_VOL_UPLOAD): the call, then the data as STREAM
   * packets of raw bytes (no reply each: the socket's backpressure is the flow control), then an
   * empty OK packet, which the daemon confirms (or answers with an error, e.g. a full disk).
   * Returns the bytes sent.
   */
  async upload(
    proc: number,
    args: XdrWriter,
    source: AsyncIterable<Buffer>,
    onProgress?: (sent: number) => void,
  ): Promise<number> {
    const serial = this.serial + 1;
    let failed: Error | undefined;
    const finished = new Promise<void>((resolve, reject) => this.streams.set(serial, { resolve, reject }));
    finished.catch((e: Error) => (failed = e));
    try {
      await this.call(proc, args);
    } catch (e) {
      this.streams.delete(serial);
      throw e;
    }
    let sent = 0;
    try {
      for await (const chunk of source) {
        for (let o = 0; o < chunk.length; o += STREAM_CHUNK) {
          if (failed !== undefined) throw failed;
          if (this.closedBy !== undefined) throw this.closedBy;
          const part = chunk.subarray(o, o + STREAM_CHUNK);
          const more = this.send(
            REMOTE_PROGRAM,
            proc,
            PacketType.STREAM,
            serial,
            PacketStatus.CONTINUE,
            part,
          );
          sent += part.length;
          onProgress?.(sent);
          if (!more) await new Promise<void>((r) => this.transport.stream.once('drain', r));
        }
      }
    } catch (e) {
      // Abort: an empty STREAM/ERROR packet tells the daemon to drop what it got.
      if (this.closedBy === undefined)
        this.send(REMOTE_PROGRAM, proc, PacketType.STREAM, serial, PacketStatus.ERROR);
      this.streams.delete(serial);
      this.idle();
      throw e;
    }
    this.send(REMOTE_PROGRAM, proc, PacketType.STREAM, serial, PacketStatus.OK);
    await finished;
    return sent;
  }

  /** Ends the connection; pending calls fail. */
  close(): void {
    this.fail(new ConnectionClosedError(`${this.transport.describe}: closed by boxfest`));
  }
}
