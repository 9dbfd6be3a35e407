import { describe, expect, it } from 'vitest';
import { boxNameProblem, boxVersionProblem, checkBoxName } from '../../../src/boxes/name.js';
import { boxDirName, boxNameOfDir } from '../../../src/state/paths.js';

describe('the one box name check', () => {
  it.each(['tiny', 'debian-12', 'debian/bookworm64', 'generic/debian12', 'a.b_c-d', 'x'.repeat(64)])(
    'accepts %s',
    (n) => {
      expect(boxNameProblem(n)).toBeUndefined();
      expect(boxNameOfDir(boxDirName(n))).toBe(n);
    },
  );

  it.each([
    '../../x',
    '..',
    '.',
    '',
    '/etc',
    'a/b/c',
    'a/../b',
    '-rf',
    'x'.repeat(65),
    'has space',
    'new\nline',
    'tab\tname',
    'a+b',
    'back\\slash',
    '.hidden',
  ])('refuses %j', (n) => {
    expect(boxNameProblem(n)).toMatch(/is not a valid box name/);
    expect(() => checkBoxName(n)).toThrow(expect.objectContaining({ code: 'BOX_NAME' }));
  });

  it('shows control characters escaped in the message', () => {
    expect(boxNameProblem('a\nb')).toBe('`a\\nb` is not a valid box name');
  });

  it.each([
    ['0', true],
    ['1.2.3', true],
    ['12.20240503.1', true],
    ['..', false],
    ['../1', false],
    ['1/2', false],
    ['', false],
  ])('version %j valid: %s', (v, ok) => {
    expect(boxVersionProblem(v) === undefined).toBe(ok);
  });
});
