import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readJson, writeFileAtomic, writeJsonAtomic } from '../../../src/state/atomic.js';
import { tempDir } from '../helpers.js';

describe('writeJsonAtomic / readJson', () => {
  it.each<[string, unknown]>([
    ['an object', { provider: 'qemu', applied: { cpus: 2, memory: 1024 }, provisioned: ['a', 'b'] }],
    ['an array', [1, 'two', null, { three: 3 }]],
    ['a string', 'héllo\nworld "quoted"'],
    ['a number', 42],
    ['null', null],
    ['an empty object', {}],
  ])('round-trips %s', (_title, value) => {
    const file = join(tempDir(), 'state.json');
    writeJsonAtomic(file, value);
    expect(readJson(file)).toEqual(value);
  });

  it('writes indented JSON with a trailing newline', () => {
    const file = join(tempDir(), 'state.json');
    writeJsonAtomic(file, { a: 1, b: [true] });
    expect(readFileSync(file, 'utf8')).toBe('{\n  "a": 1,\n  "b": [\n    true\n  ]\n}\n');
  });

  it('creates missing parent directories', () => {
    const file = join(tempDir(), 'machines', 'web', 'state.json');
    writeJsonAtomic(file, { ok: true });
    expect(readJson(file)).toEqual({ ok: true });
  });

  it('replaces an existing file and leaves no temp file behind', () => {
    const dir = tempDir();
    const file = join(dir, 'state.json');
    writeJsonAtomic(file, { v: 1 });
    writeJsonAtomic(file, { v: 2 });
    expect(readJson(file)).toEqual({ v: 2 });
    expect(readdirSync(dir)).toEqual(['state.json']);
  });

  it('readJson of a missing file is undefined', () => {
    const dir = tempDir();
    expect(readJson(join(dir, 'nope.json'))).toBeUndefined();
  });

  it('readJson of a file under a missing directory is undefined', () => {
    expect(readJson(join(tempDir(), 'no', 'such', 'dir.json'))).toBeUndefined();
  });

  it('readJson throws on invalid JSON', () => {
    const file = join(tempDir(), 'bad.json');
    writeFileSync(file, '{"half":');
    expect(() => readJson(file)).toThrow(SyntaxError);
  });

  it('readJson throws for other read errors (a directory)', () => {
    const dir = join(tempDir(), 'dir.json');
    mkdirSync(dir);
    expect(() => readJson(dir)).toThrow(expect.objectContaining({ code: 'EISDIR' }));
  });
});

describe('writeFileAtomic', () => {
  it.each([0o600, 0o644])('writes the data with mode %o', (mode) => {
    const dir = tempDir();
    const file = join(dir, 'key');
    writeFileAtomic(file, 'secret\n', mode);
    expect(readFileSync(file, 'utf8')).toBe('secret\n');
    // A restrictive umask can only remove bits.
    expect(statSync(file).mode & 0o777 & ~mode).toBe(0);
    expect(readdirSync(dir)).toEqual(['key']);
  });
});
