// A minimal ISO 9660 image writer with Joliet names: one root directory of small files, written
// from memory without mounting anything and without a host tool (genisoimage/xorriso are not on
// a stock Debian host, and a VirtualBox DVD must be an ISO). Just enough for a cloud-init NoCloud
// seed (`user-data`, `meta-data`, `network-config`, volume label `cidata`): Linux reads the Joliet
// names (ECMA-119 level-1 names cannot hold a `-`); the primary names are 8.3 stand-ins.
// Layout (2048-byte sectors): 0-15 system area, 16 primary descriptor, 17 Joliet descriptor,
// 18 terminator, 19-22 path tables (L and M, primary then Joliet), 23 primary root directory,
// 24 Joliet root directory, then each file's data.

const SECTOR = 2048;

export interface IsoFile {
  name: string;
  data: Buffer;
}

const both16 = (b: Buffer, at: number, v: number) => {
  b.writeUInt16LE(v, at);
  b.writeUInt16BE(v, at + 2);
};
const both32 = (b: Buffer, at: number, v: number) => {
  b.writeUInt32LE(v, at);
  b.writeUInt32BE(v, at + 4);
};
const sectors = (bytes: number) => Math.max(1, Math.ceil(bytes / SECTOR));

/** `a-characters` field, space padded (primary descriptor). */
function ascii(b: Buffer, at: number, len: number, text: string): void {
  b.fill(0x20, at, at + len);
  b.write(text.slice(0, len), at, 'ascii');
}

/** The same field in a Joliet descriptor: UCS-2 big-endian, padded with UCS-2 spaces. */
function ucs2(b: Buffer, at: number, len: number, text: string): void {
  for (let i = 0; i + 1 < len; i += 2) b.writeUInt16BE(0x20, at + i);
  ucs2Name(text.slice(0, Math.floor(len / 2))).copy(b, at);
}

function ucs2Name(text: string): Buffer {
  const out = Buffer.alloc(text.length * 2);
  for (let i = 0; i < text.length; i++) out.writeUInt16BE(text.charCodeAt(i), i * 2);
  return out;
}

/** 7-byte directory-record date. */
function recordDate(d: Date): Buffer {
  return Buffer.from([
    d.getUTCFullYear() - 1900,
    d.getUTCMonth() + 1,
    d.getUTCDate(),
    d.getUTCHours(),
    d.getUTCMinutes(),
    d.getUTCSeconds(),
    0,
  ]);
}

/** 17-byte descriptor date: YYYYMMDDHHMMSScc + UTC offset. */
function descriptorDate(d: Date): Buffer {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const text = `${p(d.getUTCFullYear(), 4)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}00`;
  return Buffer.concat([Buffer.from(text, 'ascii'), Buffer.from([0])]);
}

function dirRecord(id: Buffer, extent: number, size: number, dir: boolean, date: Buffer): Buffer {
  const len = 33 + id.length + (id.length % 2 === 0 ? 1 : 0);
  const r = Buffer.alloc(len);
  r[0] = len;
  both32(r, 2, extent);
  both32(r, 10, size);
  date.copy(r, 18);
  r[25] = dir ? 0x02 : 0;
  both16(r, 28, 1);
  r[32] = id.length;
  id.copy(r, 33);
  return r;
}

function pathTable(rootExtent: number, bigEndian: boolean): Buffer {
  const t = Buffer.alloc(10);
  t[0] = 1;
  if (bigEndian) t.writeUInt32BE(rootExtent, 2);
  else t.writeUInt32LE(rootExtent, 2);
  if (bigEndian) t.writeUInt16BE(1, 6);
  else t.writeUInt16LE(1, 6);
  return t;
}

/** 8.3 upper-case stand-in for the primary directory (`user-data` → `USER_DAT.;1`), unique. */
function primaryName(name: string, taken: Set<string>): string {
  const clean = (s: string) => s.toUpperCase().replace(/[^A-Z0-9_]/g, '_');
  const dot = name.lastIndexOf('.');
  const stem = clean(dot > 0 ? name.slice(0, dot) : name).slice(0, 8);
  const ext = dot > 0 ? clean(name.slice(dot + 1)).slice(0, 3) : '';
  let candidate = `${stem}.${ext}`;
  for (let n = 1; taken.has(candidate); n++) candidate = `${stem.slice(0, 8 - String(n).length)}${n}.${ext}`;
  taken.add(candidate);
  return `${candidate};1`;
}

function directory(
  records: { id: Buffer; extent: number; size: number }[],
  self: number,
  date: Buffer,
): Buffer {
  const dot = dirRecord(Buffer.from([0]), self, SECTOR, true, date);
  const dotdot = dirRecord(Buffer.from([1]), self, SECTOR, true, date);
  const body = Buffer.concat([
    dot,
    dotdot,
    ...records.map((r) => dirRecord(r.id, r.extent, r.size, false, date)),
  ]);
  if (body.length > SECTOR) throw new Error('internal: ISO root directory larger than one sector');
  return body;
}

function descriptor(
  kind: 'primary' | 'joliet',
  o: { label: string; total: number; lTable: number; mTable: number; root: Buffer; date: Buffer },
): Buffer {
  const d = Buffer.alloc(SECTOR);
  d[0] = kind === 'primary' ? 1 : 2;
  d.write('CD001', 1, 'ascii');
  d[6] = 1;
  const text = kind === 'primary' ? ascii : ucs2;
  text(d, 8, 32, 'LINUX');
  text(d, 40, 32, o.label);
  both32(d, 80, o.total);
  if (kind === 'joliet') d.write('%/E', 88, 'ascii'); // UCS-2 level 3
  both16(d, 120, 1);
  both16(d, 124, 1);
  both16(d, 128, SECTOR);
  both32(d, 132, 10);
  d.writeUInt32LE(o.lTable, 140);
  d.writeUInt32BE(o.mTable, 148);
  o.root.copy(d, 156);
  for (const [at, len] of [
    [190, 128],
    [318, 128],
    [446, 128],
    [574, 128],
    [702, 37],
    [739, 37],
    [776, 37],
  ] as const)
    text(d, at, len, at === 574 ? 'BOXFEST' : '');
  o.date.copy(d, 813);
  o.date.copy(d, 830);
  d.write('0000000000000000', 847, 'ascii');
  d.write('0000000000000000', 864, 'ascii');
  d[881] = 1;
  return d;
}

/** The whole image. Names: Joliet (up to 64 characters); `label`: the volume identifier. */
export function isoImage(label: string, files: readonly IsoFile[], now = new Date()): Buffer {
  const date = recordDate(now);
  const descDate = descriptorDate(now);
  const [lPrimary, mPrimary, lJoliet, mJoliet, rootPrimary, rootJoliet] = [19, 20, 21, 22, 23, 24];
  const sorted = [...files].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  let next = 25;
  const placed = sorted.map((f) => {
    const extent = next;
    next += sectors(f.data.length);
    return { ...f, extent };
  });
  const total = next;
  const taken = new Set<string>();
  const primaryDir = directory(
    placed.map((f) => ({
      id: Buffer.from(primaryName(f.name, taken), 'ascii'),
      extent: f.extent,
      size: f.data.length,
    })),
    rootPrimary,
    date,
  );
  const jolietDir = directory(
    placed.map((f) => ({ id: ucs2Name(f.name), extent: f.extent, size: f.data.length })),
    rootJoliet,
    date,
  );
  const image = Buffer.alloc(total * SECTOR);
  const at = (sector: number, b: Buffer) => b.copy(image, sector * SECTOR);
  const root = (extent: number) => dirRecord(Buffer.from([0]), extent, SECTOR, true, date);
  at(
    16,
    descriptor('primary', {
      label,
      total,
      lTable: lPrimary,
      mTable: mPrimary,
      root: root(rootPrimary),
      date: descDate,
    }),
  );
  at(
    17,
    descriptor('joliet', {
      label,
      total,
      lTable: lJoliet,
      mTable: mJoliet,
      root: root(rootJoliet),
      date: descDate,
    }),
  );
  const end = Buffer.alloc(SECTOR);
  end[0] = 255;
  end.write('CD001', 1, 'ascii');
  end[6] = 1;
  at(18, end);
  at(lPrimary, pathTable(rootPrimary, false));
  at(mPrimary, pathTable(rootPrimary, true));
  at(lJoliet, pathTable(rootJoliet, false));
  at(mJoliet, pathTable(rootJoliet, true));
  at(rootPrimary, primaryDir);
  at(rootJoliet, jolietDir);
  for (const f of placed) at(f.extent, f.data);
  return image;
}
