// The error codes: the ErrorCode union (src/errors.ts), the codes the sources use, and the list in
// docs/errors.md, each with its hint, are one and the same set.

import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, isErrorCode } from '../../src/errors.js';

const ROOT = resolve(import.meta.dirname, '../..');

/** `| \`CODE\` | when | hint |` rows of docs/errors.md. */
function documented(): Map<string, string> {
  const rows = new Map<string, string>();
  for (const line of readFileSync(join(ROOT, 'docs/errors.md'), 'utf8').split('\n')) {
    const m = /^\|\s*`([A-Z][A-Z0-9_]*)`\s*\|([^|]*)\|([^|]*)\|\s*$/.exec(line);
    if (m !== null) {
      expect(rows.has(m[1]!), `${m[1]} is listed twice`).toBe(false);
      rows.set(m[1]!, m[3]!.trim());
    }
  }
  return rows;
}

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? sources(join(dir, d.name)) : d.name.endsWith('.ts') ? [join(dir, d.name)] : [],
  );
}

describe('error codes', () => {
  it('are each listed once in the union', () => {
    expect(new Set(ERROR_CODES).size).toBe(ERROR_CODES.length);
  });

  it('docs/errors.md lists exactly the union, each code with a hint', () => {
    const docs = documented();
    expect([...docs.keys()].sort()).toEqual([...ERROR_CODES].sort());
    for (const [code, hint] of docs) expect(hint, code).not.toBe('');
  });

  it('every code of the union is used by the sources', () => {
    // errors.ts counts from after the list itself (ConfigError uses CONFIG_INVALID).
    const text = sources(join(ROOT, 'src'))
      .map((f) => readFileSync(f, 'utf8'))
      .map((t) => (t.includes('export const ERROR_CODES') ? t.slice(t.indexOf('export type ErrorCode')) : t))
      .join('\n');
    expect(ERROR_CODES.filter((c) => !text.includes(`'${c}'`))).toEqual([]);
  });

  it('isErrorCode tells the union from other strings', () => {
    expect(isErrorCode('PORT_IN_USE')).toBe(true);
    expect(isErrorCode('0xffffffff')).toBe(false);
    expect(isErrorCode('port_in_use')).toBe(false);
  });
});
