// Box versions and constraints with Vagrant's syntax (RubyGems' Gem::Version and
// Gem::Requirement): `1.2.3`, `>= 12.1, < 13`, `~> 1.2`, `!= 1.4`, `= 2`. Pure.

type Segment = number | string;

/** Numbers and letter runs, as Gem::Version splits them (`1.0.rc2` → 1, 0, "rc", 2). */
function segments(v: string): Segment[] {
  return (v.match(/[0-9]+|[a-z]+/gi) ?? []).map((s) => (/^[0-9]+$/.test(s) ? Number(s) : s));
}

/** Gem::Version#<=>: trailing zeros ignored, a letter run (pre-release) sorts below any number. */
export function compareVersions(a: string, b: string): number {
  const x = segments(a);
  const y = segments(b);
  const n = Math.max(x.length, y.length);
  for (let i = 0; i < n; i++) {
    const p = x[i] ?? 0;
    const q = y[i] ?? 0;
    if (p === q) continue;
    if (typeof p === 'number' && typeof q === 'number') return p < q ? -1 : 1;
    if (typeof p === 'string' && typeof q === 'string') return p < q ? -1 : 1;
    return typeof p === 'string' ? -1 : 1;
  }
  return 0;
}

export type Operator = '=' | '!=' | '>' | '<' | '>=' | '<=' | '~>';

export interface Requirement {
  op: Operator;
  version: string;
}

const ONE = /^\s*(=|!=|>=|<=|>|<|~>)?\s*([0-9][0-9A-Za-z.]*)\s*$/;

/** Parses `>= 12.1, < 13`; a problem in words when it is not Vagrant's syntax. */
export function parseConstraint(text: string): Requirement[] | { problem: string } {
  const parts = text.split(',');
  const out: Requirement[] = [];
  for (const part of parts) {
    const m = ONE.exec(part);
    if (m === null)
      return {
        problem: `\`${part.trim()}\` is not a version requirement (write e.g. \`>= 1.2, < 2\`, \`~> 1.2\` or \`1.2.3\`)`,
      };
    out.push({ op: (m[1] ?? '=') as Operator, version: m[2]! });
  }
  return out;
}

/** Gem::Version#bump: drop pre-release parts and the last segment, increment the new last. */
function bump(v: string): string {
  const segs = segments(v);
  const firstLetter = segs.findIndex((s) => typeof s === 'string');
  const nums = (firstLetter === -1 ? segs : segs.slice(0, firstLetter)) as number[];
  if (nums.length > 1) nums.pop();
  nums[nums.length - 1] = (nums[nums.length - 1] ?? 0) + 1;
  return nums.join('.');
}

function satisfiesOne(v: string, r: Requirement): boolean {
  const c = compareVersions(v, r.version);
  switch (r.op) {
    case '=':
      return c === 0;
    case '!=':
      return c !== 0;
    case '>':
      return c > 0;
    case '<':
      return c < 0;
    case '>=':
      return c >= 0;
    case '<=':
      return c <= 0;
    case '~>':
      return c >= 0 && compareVersions(v, bump(r.version)) < 0;
  }
}

/** True when `version` meets every requirement (as Vagrant: Gem::Requirement#satisfied_by? each). */
export function satisfies(version: string, reqs: readonly Requirement[]): boolean {
  return reqs.every((r) => satisfiesOne(version, r));
}

/** The newest of `versions` meeting `reqs` (all of them when there are none). */
export function newestVersion(
  versions: readonly string[],
  reqs: readonly Requirement[] = [],
): string | undefined {
  return versions
    .filter((v) => satisfies(v, reqs))
    .sort(compareVersions)
    .at(-1);
}
