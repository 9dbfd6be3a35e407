// XDR (RFC 4506), the encoding of libvirt's RPC payloads: big-endian, every item padded to 4
// bytes. Only what remote_protocol.x uses. Two traps it names: a `remote_string` is a pointer
// (u32 0 for null, or 1 then the string), and a `char` takes 4 bytes.

/** Fixed-size opaque of a UUID: 16 raw bytes, no length. */
export const UUID_BYTES = 16;

const pad = (n: number) => (4 - (n % 4)) % 4;

export class XdrWriter {
  private readonly parts: Buffer[] = [];

  u32(v: number): this {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(v >>> 0);
    this.parts.push(b);
    return this;
  }

  i32(v: number): this {
    const b = Buffer.alloc(4);
    b.writeInt32BE(v | 0);
    this.parts.push(b);
    return this;
  }

  u64(v: number | bigint): this {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(BigInt(v));
    this.parts.push(b);
    return this;
  }

  i64(v: number | bigint): this {
    const b = Buffer.alloc(8);
    b.writeBigInt64BE(BigInt(v));
    this.parts.push(b);
    return this;
  }

  /** Fixed-length opaque (no length word), padded. */
  fixed(data: Buffer): this {
    this.parts.push(data);
    if (pad(data.length) > 0) this.parts.push(Buffer.alloc(pad(data.length)));
    return this;
  }

  /** Variable-length opaque: its length, the bytes, padding. */
  opaque(data: Buffer): this {
    return this.u32(data.length).fixed(data);
  }

  /** `remote_nonnull_string`. */
  str(s: string): this {
    return this.opaque(Buffer.from(s, 'utf8'));
  }

  /** `remote_string`: a pointer, null or a string. */
  optStr(s: string | null | undefined): this {
    return s === null || s === undefined ? this.u32(0) : this.u32(1).str(s);
  }

  /** Any optional item: a pointer word, then the item. */
  opt<T>(v: T | null | undefined, write: (w: this, v: T) => void): this {
    if (v === null || v === undefined) return this.u32(0);
    this.u32(1);
    write(this, v);
    return this;
  }

  array<T>(items: readonly T[], write: (w: this, v: T) => void): this {
    this.u32(items.length);
    for (const v of items) write(this, v);
    return this;
  }

  toBuffer(): Buffer {
    return Buffer.concat(this.parts);
  }
}

/** Thrown when a payload is shorter than its structure says: a protocol mismatch, not user error. */
export class XdrError extends Error {
  override name = 'XdrError';
}

export class XdrReader {
  private offset = 0;

  constructor(private readonly buf: Buffer) {}

  private need(n: number): void {
    if (this.offset + n > this.buf.length)
      throw new XdrError(`XDR: need ${n} bytes at offset ${this.offset}, payload has ${this.buf.length}`);
  }

  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.offset);
    this.offset += 4;
    return v;
  }

  i32(): number {
    this.need(4);
    const v = this.buf.readInt32BE(this.offset);
    this.offset += 4;
    return v;
  }

  u64(): bigint {
    this.need(8);
    const v = this.buf.readBigUInt64BE(this.offset);
    this.offset += 8;
    return v;
  }

  i64(): bigint {
    this.need(8);
    const v = this.buf.readBigInt64BE(this.offset);
    this.offset += 8;
    return v;
  }

  f64(): number {
    this.need(8);
    const v = this.buf.readDoubleBE(this.offset);
    this.offset += 8;
    return v;
  }

  bool(): boolean {
    return this.i32() !== 0;
  }

  fixed(n: number): Buffer {
    this.need(n + pad(n));
    const v = Buffer.from(this.buf.subarray(this.offset, this.offset + n));
    this.offset += n + pad(n);
    return v;
  }

  opaque(): Buffer {
    return this.fixed(this.u32());
  }

  str(): string {
    return this.opaque().toString('utf8');
  }

  optStr(): string | null {
    return this.u32() === 0 ? null : this.str();
  }

  opt<T>(read: (r: this) => T): T | null {
    return this.u32() === 0 ? null : read(this);
  }

  array<T>(read: (r: this) => T): T[] {
    const n = this.u32();
    // Each item takes at least 4 bytes: a count beyond that is garbage, not a huge allocation.
    if (n * 4 > this.buf.length - this.offset) throw new XdrError(`XDR: array of ${n} items does not fit`);
    const out: T[] = [];
    for (let i = 0; i < n; i++) out.push(read(this));
    return out;
  }

  /** Bytes not read yet. */
  get remaining(): number {
    return this.buf.length - this.offset;
  }
}
