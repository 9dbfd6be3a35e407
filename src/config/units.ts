// Sizes in the Boxfile: a number is MiB; a string carries a binary unit (`512MiB`, `2GiB`,
// `1.5GiB`, `1TiB`) and is rounded to whole MiB. Decimal units (`2GB`, `2G`) are rejected with a
// hint rather than guessed, since 2GB and 2GiB differ by 7%.

/** The pattern the schema uses for size strings (keep in step with schemas/boxfile.schema.json). */
export const SIZE_PATTERN = /^([0-9]+(\.[0-9]+)?) ?(MiB|GiB|TiB)$/;

const FACTOR: Record<string, number> = { MiB: 1, GiB: 1024, TiB: 1024 * 1024 };

/** MiB for a written size, or undefined when it is not one. */
export function sizeMiB(size: number | string | undefined): number | undefined {
  if (typeof size === 'number') return size;
  if (size === undefined) return undefined;
  const m = SIZE_PATTERN.exec(size);
  const factor = FACTOR[m?.[3] ?? ''];
  if (m === null || factor === undefined) return undefined;
  return Math.round(Number(m[1]) * factor);
}

/** What to say about a size string that does not parse. */
export function sizeHint(key: string, written: string): string {
  const m = /^([0-9]+(?:\.[0-9]+)?) ?([A-Za-z]*)$/.exec(written.trim());
  const binary: Record<string, string> = {
    m: 'MiB',
    mb: 'MiB',
    mib: 'MiB',
    g: 'GiB',
    gb: 'GiB',
    gib: 'GiB',
    t: 'TiB',
    tb: 'TiB',
    tib: 'TiB',
  };
  const unit = binary[(m?.[2] ?? '').toLowerCase()];
  if (m !== null && unit !== undefined)
    return `did you mean \`${m[1]}${unit}\`? sizes use binary units: MiB, GiB or TiB`;
  return `write a number of MiB, e.g. \`${key}: 2048\`, or a size with a unit, e.g. \`2GiB\`, \`512MiB\``;
}
