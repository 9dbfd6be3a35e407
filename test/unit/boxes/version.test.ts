import { describe, expect, it } from 'vitest';
import {
  compareVersions,
  newestVersion,
  parseConstraint,
  satisfies,
  type Requirement,
} from '../../../src/boxes/version.js';

const reqs = (text: string): Requirement[] => {
  const r = parseConstraint(text);
  if ('problem' in r) throw new Error(r.problem);
  return r;
};

describe('Vagrant versions (Gem::Version)', () => {
  it.each([
    ['1.0', '1.0.0', 0],
    ['1.2', '1.10', -1],
    ['12.20240503.1', '12.20240101.9', 1],
    ['1.0.rc1', '1.0', -1],
    ['1.0.a', '1.0.b', -1],
    ['2', '1.99.99', 1],
    ['0', '0.0', 0],
  ])('%s vs %s → %i', (a, b, want) => {
    expect(Math.sign(compareVersions(a, b))).toBe(want);
    expect(Math.sign(compareVersions(b, a))).toBe(want === 0 ? 0 : -want);
  });
});

describe('constraints in Vagrant syntax', () => {
  it.each([
    ['>= 12.1, < 13', '12.1', true],
    ['>= 12.1, < 13', '12.9.9', true],
    ['>= 12.1, < 13', '13.0', false],
    ['>= 12.1, < 13', '12.0.9', false],
    ['~> 1.2', '1.9', true],
    ['~> 1.2', '2.0', false],
    ['~> 1.2.3', '1.2.9', true],
    ['~> 1.2.3', '1.3.0', false],
    ['~> 1', '1.5', true],
    ['~> 1', '2', false],
    ['1.0.0', '1.0', true],
    ['= 1.0.0', '1.0.1', false],
    ['!= 1.1', '1.1.0', false],
    ['!= 1.1', '1.2', true],
    ['> 1', '1.0.1', true],
    ['<= 1', '1.0.0', true],
  ])('%s on %s is %s', (c, v, want) => {
    expect(satisfies(v, reqs(c))).toBe(want);
  });

  it.each(['', 'latest', '>= ', '=> 1', '1.0 || 2.0', '>= 1.0; rm -rf /'])(
    'refuses %j with a problem in words',
    (c) => {
      const r = parseConstraint(c);
      expect('problem' in r && r.problem).toMatch(/is not a version requirement/);
    },
  );

  it('picks the newest fitting version', () => {
    const all = ['1.0.0', '2.0.0', '1.1.0', '1.10.0'];
    expect(newestVersion(all)).toBe('2.0.0');
    expect(newestVersion(all, reqs('< 2'))).toBe('1.10.0');
    expect(newestVersion(all, reqs('~> 1.0.0'))).toBe('1.0.0');
    expect(newestVersion(all, reqs('> 3'))).toBeUndefined();
  });
});
