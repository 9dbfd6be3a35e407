// libvirt's RPC framing (src/rpc/virnetprotocol.x, docs/kbase/internals/rpc.rst): every packet is
//   u32 length (of the whole packet, these 4 bytes included) | 24-byte header | XDR payload
// and the header is prog, vers, proc, type, serial, status. Pure encode/decode here; the
// connection (connection.ts) owns the socket.
import { UUID_BYTES, XdrReader, XdrWriter } from './xdr.js';

/** REMOTE_PROGRAM, version 1: every procedure boxfest calls. */
export const REMOTE_PROGRAM = 0x20008086;
/** 'keep': the keepalive program (PING 1, PONG 2, as MESSAGE packets). */
export const KEEPALIVE_PROGRAM = 0x6b656570;
export const PROTOCOL_VERSION = 1;
export const KEEPALIVE_PING = 1;
export const KEEPALIVE_PONG = 2;

export const PacketType = { CALL: 0, REPLY: 1, MESSAGE: 2, STREAM: 3 } as const;
export const PacketStatus = { OK: 0, ERROR: 1, CONTINUE: 2 } as const;

export const HEADER_BYTES = 24;
/** VIR_NET_MESSAGE_MAX: the largest packet the daemon accepts or sends (plus the length word). */
export const MAX_PACKET = 4 + 33_554_432;
/** Stream data per packet: what libvirt's own client sends (VIR_NET_MESSAGE_LEGACY_PAYLOAD_MAX). */
export const STREAM_CHUNK = 262_120;

export interface Header {
  prog: number;
  vers: number;
  proc: number;
  type: number;
  serial: number;
  status: number;
}

export interface Packet extends Header {
  payload: Buffer;
}

export function encodePacket(h: Header, payload: Buffer = Buffer.alloc(0)): Buffer {
  const out = Buffer.alloc(4 + HEADER_BYTES + payload.length);
  out.writeUInt32BE(out.length, 0);
  out.writeUInt32BE(h.prog >>> 0, 4);
  out.writeUInt32BE(h.vers >>> 0, 8);
  out.writeInt32BE(h.proc | 0, 12);
  out.writeUInt32BE(h.type >>> 0, 16);
  out.writeUInt32BE(h.serial >>> 0, 20);
  out.writeUInt32BE(h.status >>> 0, 24);
  payload.copy(out, 4 + HEADER_BYTES);
  return out;
}

/** A packet whose length word is impossible: the stream is not libvirt's protocol (or is corrupt). */
export class FramingError extends Error {
  override name = 'FramingError';
}

/**
 * Cuts a byte stream into packets, whatever the chunking: `push` the bytes as they arrive, and
 * every complete packet comes out, in order.
 */
export class PacketParser {
  private buf: Buffer = Buffer.alloc(0);

  push(data: Buffer): Packet[] {
    this.buf = this.buf.length === 0 ? data : Buffer.concat([this.buf, data]);
    const out: Packet[] = [];
    while (this.buf.length >= 4) {
      const len = this.buf.readUInt32BE(0);
      if (len < 4 + HEADER_BYTES || len > MAX_PACKET)
        throw new FramingError(`bad packet length ${len} (not a libvirt daemon?)`);
      if (this.buf.length < len) break;
      out.push({
        prog: this.buf.readUInt32BE(4),
        vers: this.buf.readUInt32BE(8),
        proc: this.buf.readInt32BE(12),
        type: this.buf.readUInt32BE(16),
        serial: this.buf.readUInt32BE(20),
        status: this.buf.readUInt32BE(24),
        payload: Buffer.from(this.buf.subarray(4 + HEADER_BYTES, len)),
      });
      this.buf = this.buf.subarray(len);
    }
    return out;
  }

  /** Bytes of a packet not complete yet. */
  get pending(): number {
    return this.buf.length;
  }
}

// --- the structures remote_protocol.x passes around ---------------------------------------------

/** remote_nonnull_domain: the daemon resolves it by UUID; `id` is -1 while the domain is inactive. */
export interface DomainRef {
  name: string;
  uuid: Buffer;
  id: number;
}
/** remote_nonnull_network and remote_nonnull_storage_pool. */
export interface NetworkRef {
  name: string;
  uuid: Buffer;
}
export type PoolRef = NetworkRef;
export interface VolumeRef {
  pool: string;
  name: string;
  key: string;
}
export interface SnapshotRef {
  name: string;
  dom: DomainRef;
}
export interface InterfaceRef {
  name: string;
  mac: string;
}

/** A UUID as libvirt writes it in XML and `virsh domuuid` prints it (8-4-4-4-12 hex). */
export const uuidText = (uuid: Buffer): string =>
  uuid.toString('hex').replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, '$1-$2-$3-$4-$5');
export const writeDomain = (w: XdrWriter, d: DomainRef) => w.str(d.name).fixed(d.uuid).i32(d.id);
export const writeNetwork = (w: XdrWriter, n: NetworkRef) => w.str(n.name).fixed(n.uuid);
export const writeVolume = (w: XdrWriter, v: VolumeRef) => w.str(v.pool).str(v.name).str(v.key);
export const writeSnapshot = (w: XdrWriter, s: SnapshotRef) => writeDomain(w.str(s.name), s.dom);
export const writeInterface = (w: XdrWriter, i: InterfaceRef) => w.str(i.name).str(i.mac);

export const readDomain = (r: XdrReader): DomainRef => ({
  name: r.str(),
  uuid: r.fixed(UUID_BYTES),
  id: r.i32(),
});
export const readNetwork = (r: XdrReader): NetworkRef => ({ name: r.str(), uuid: r.fixed(UUID_BYTES) });
export const readVolume = (r: XdrReader): VolumeRef => ({ pool: r.str(), name: r.str(), key: r.str() });
export const readSnapshot = (r: XdrReader): SnapshotRef => ({ name: r.str(), dom: readDomain(r) });
export const readInterface = (r: XdrReader): InterfaceRef => ({ name: r.str(), mac: r.str() });

/** remote_error: what the daemon sends with status ERROR. `code`/`domain` are virErrorNumber/virErrorDomain. */
export interface RemoteError {
  code: number;
  domain: number;
  message: string | null;
  level: number;
  str1: string | null;
  str2: string | null;
  str3: string | null;
  int1: number;
  int2: number;
}

export function readRemoteError(r: XdrReader): RemoteError {
  const code = r.i32();
  const domain = r.i32();
  const message = r.optStr();
  const level = r.i32();
  r.opt(readDomain);
  const str1 = r.optStr();
  const str2 = r.optStr();
  const str3 = r.optStr();
  const int1 = r.i32();
  const int2 = r.i32();
  r.opt(readNetwork);
  return { code, domain, message, level, str1, str2, str3, int1, int2 };
}

export function writeRemoteError(w: XdrWriter, e: RemoteError): XdrWriter {
  return w
    .i32(e.code)
    .i32(e.domain)
    .optStr(e.message)
    .i32(e.level)
    .u32(0)
    .optStr(e.str1)
    .optStr(e.str2)
    .optStr(e.str3)
    .i32(e.int1)
    .i32(e.int2)
    .u32(0);
}

/** remote_typed_param: a name and a union on its type (1 int, 2 uint, 3 llong, 4 ullong, 5 double, 6 boolean, 7 string). */
export type TypedValue = number | bigint | boolean | string;

export function readTypedParam(r: XdrReader): [string, TypedValue] {
  const field = r.str();
  const type = r.i32();
  switch (type) {
    case 1:
      return [field, r.i32()];
    case 2:
      return [field, r.u32()];
    case 3:
      return [field, r.i64()];
    case 4:
      return [field, r.u64()];
    case 5:
      return [field, r.f64()];
    case 6:
      return [field, r.i32() !== 0];
    case 7:
      return [field, r.str()];
    default:
      throw new Error(`XDR: typed parameter ${field} of unknown type ${type}`);
  }
}

export { XdrReader, XdrWriter };
