// `boxfest init`: through the real CLI entry (main), in a real temp directory: the written
// Boxfile loads and validates as it is, an existing one is never touched, bad box names refused.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../../src/cli.js';
import { readEnvironment } from '../../../src/config/index.js';

const dirs: string[] = [];
function dir(): string {
  const d = mkdtempSync(join(tmpdir(), 'boxfest-init-'));
  dirs.push(d);
  return d;
}
function captured(stream: NodeJS.WriteStream): () => string {
  const spy = vi.spyOn(stream, 'write').mockImplementation(() => true);
  return () => spy.mock.calls.map((c) => String(c[0])).join('');
}
afterEach(() => {
  vi.restoreAllMocks();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('boxfest init', () => {
  it('writes a commented Boxfile with the schema modeline that validates as written', async () => {
    const d = dir();
    const out = captured(process.stdout);
    expect(await main(['init', 'debian/bookworm64'], d)).toBe(0);
    expect(out()).toBe(
      `wrote ${join(d, 'Boxfile.yaml')} (box debian/bookworm64); \`boxfest up\` starts it\n`,
    );
    const text = readFileSync(join(d, 'Boxfile.yaml'), 'utf8');
    const schema = resolve(import.meta.dirname, '../../../schemas/boxfile.schema.json');
    expect(text.split('\n')[0]).toBe(`# yaml-language-server: $schema=${schema}`);
    expect(text).toContain('    box: debian/bookworm64 #');
    const env = readEnvironment(d);
    expect(env.machines.map((m) => [m.name, m.box, m.cpus, m.memory])).toEqual([
      ['default', 'debian/bookworm64', 1, 1024],
    ]);
    // Every commented-out example is valid too once uncommented.
    writeFileSync(join(d, 'Boxfile.yaml'), text.replace(/^( +)# ( *[a-z_-]+[:\s])/gm, '$1$2'));
    expect(readEnvironment(d).machines[0]?.triggers).toHaveLength(1);
  });

  it('without a box names the machine’s box `base`, and says so in --json', async () => {
    const d = dir();
    const out = captured(process.stdout);
    expect(await main(['init', '--json'], d)).toBe(0);
    expect(JSON.parse(out())).toEqual({ file: join(d, 'Boxfile.yaml'), box: 'base' });
  });

  it.each([
    [
      'an existing Boxfile',
      'keep me\n',
      ['init', 'tiny'],
      /Boxfile.yaml exists already; it was left as it is/,
    ],
    ['a bad box name', undefined, ['init', '../evil'], /`..\/evil` is not a valid box name/],
  ])('refuses %s and changes nothing', async (_name, existing, args, message) => {
    const d = dir();
    if (existing !== undefined) writeFileSync(join(d, 'Boxfile.yaml'), existing);
    const err = captured(process.stderr);
    captured(process.stdout);
    expect(await main(args, d)).not.toBe(0);
    expect(err()).toMatch(message);
    if (existing !== undefined) expect(readFileSync(join(d, 'Boxfile.yaml'), 'utf8')).toBe(existing);
    else expect(() => readFileSync(join(d, 'Boxfile.yaml'))).toThrow();
  });
});
