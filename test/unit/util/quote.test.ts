// shellQuote, checked against a real POSIX shell: whatever goes in, sh must see the same string.

import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { shellQuote } from '../../../src/util/quote.js';

/** What `sh` prints for the quoted word. */
const throughShell = (quoted: string) =>
  execFileSync('sh', ['-c', `printf %s ${quoted}`], { encoding: 'utf8' });

describe('shellQuote', () => {
  it.each<[string, string]>([
    ['plain', 'plain'],
    ['/abs/path-1.2_x', '/abs/path-1.2_x'],
    ['user@host:22', 'user@host:22'],
    ['a=b,c+d%e', 'a=b,c+d%e'],
    ['-n', '-n'],
    ['', "''"],
    ['two words', "'two words'"],
    [' leading', "' leading'"],
    ["it's", "'it'\\''s'"],
    ["'", "''\\'''"],
    ["''", "''\\'''\\'''"],
    ['$(id)', "'$(id)'"],
    ['$HOME', "'$HOME'"],
    ['`id`', "'`id`'"],
    ['a\nb', "'a\nb'"],
    ['\n', "'\n'"],
    ['tab\there', "'tab\there'"],
    ['a;b', "'a;b'"],
    ['a && b || c', "'a && b || c'"],
    ['a|b>c<d', "'a|b>c<d'"],
    ['*', "'*'"],
    ['?', "'?'"],
    ['[ab]', "'[ab]'"],
    ['~', "'~'"],
    ['~/x', "'~/x'"],
    ['{a,b}', "'{a,b}'"],
    ['#comment', "'#comment'"],
    ['a\\b', "'a\\b'"],
    ['"double"', '\'"double"\''],
    ['!bang', "'!bang'"],
    ['héllo', "'héllo'"],
    ['mixed \'quotes\' and "quotes" $(x) `y`\n', "'mixed '\\''quotes'\\'' and \"quotes\" $(x) `y`\n'"],
  ])('%j → %s', (raw, quoted) => {
    expect(shellQuote(raw)).toBe(quoted);
    expect(throughShell(shellQuote(raw))).toBe(raw);
  });

  it('keeps words apart when joined with spaces', () => {
    const words = ['printf', '[%s]', 'a b', '', "c'd", '$(e)', 'f\ng'];
    const out = execFileSync('sh', ['-c', words.map(shellQuote).join(' ')], { encoding: 'utf8' });
    expect(out).toBe("[a b][][c'd][$(e)][f\ng]");
  });
});
