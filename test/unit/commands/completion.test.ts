// Shell completion: the scripts `boxfest completion bash|zsh|fish` print, loaded into the real
// shells and asked what they complete. bash: `complete -p`, then the completion function with
// COMP_WORDS set, as bash calls it. zsh: an interactive `zsh -f` on a pseudo-terminal (zpty) that
// sources the script and is sent the typed words and a TAB, so its own completion system runs the
// widget; what it offers is read from a `compadd` wrapper. fish: `complete -C`, fish's own query
// of what a command line completes to. In every shell `boxfest` inside the script is a shell
// function that answers with what `boxfest completion machines` printed for a real Boxfile.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../../src/cli.js';

const root = mkdtempSync(join(tmpdir(), 'boxfest-completion-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

async function boxfest(args: string[], cwd = root): Promise<string> {
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  expect(await main(args, cwd)).toBe(0);
  const text = spy.mock.calls.map((c) => String(c[0])).join('');
  spy.mockRestore();
  return text;
}

writeFileSync(
  join(root, 'Boxfile.yaml'),
  'version: 1\nmachines:\n  web: { box: tiny }\n  db: { box: tiny }\n  worker-1: { box: tiny }\n',
);
mkdirSync(join(root, 'sub'));

/** Single-quoted words for bash, zsh and fish (none of the words here holds a quote). */
const quoted = (words: readonly string[]) => words.map((w) => `'${w}'`).join(' ');
const names = (machines: string) => machines.trim().split('\n');
/** A shell's environment: its home (zsh's .zcompdump, fish's config) inside the test's temp dir. */
const shellEnv = () => ({
  PATH: process.env['PATH'] ?? '/usr/bin:/bin',
  HOME: root,
  ZDOTDIR: root,
  TERM: 'dumb',
});

/** What bash completes for the words typed so far (the last one being completed). */
function bashComplete(script: string, machines: string, ...typed: string[]): string[] {
  const probe = `${script}
boxfest() { [ "$1 $2" = "completion machines" ] && printf '%s\\n' ${quoted(names(machines))}; }
complete -p boxfest
COMP_WORDS=(${quoted(['boxfest', ...typed])}); COMP_CWORD=${typed.length}
_boxfest
printf '%s\\n' "\${COMPREPLY[@]}"`;
  const out = execFileSync('bash', ['--norc', '--noprofile', '-c', probe], { encoding: 'utf8' }).split('\n');
  expect(out[0]).toBe('complete -F _boxfest boxfest');
  return out.slice(1).filter((l) => l !== '');
}

/** zsh's own completion, run on a pseudo-terminal by this driver (see its header). */
const ZSH_DRIVER = resolve(import.meta.dirname, '../../fixtures/zsh-complete.zsh');

function zshComplete(script: string, machines: string, ...typed: string[]): string[] {
  const file = join(root, 'completion.zsh');
  writeFileSync(file, script);
  const out = execFileSync('zsh', ['-f', ZSH_DRIVER], {
    cwd: root,
    encoding: 'utf8',
    timeout: 30_000,
    env: {
      ...shellEnv(),
      SCRIPT: file,
      MACHINES: names(machines).join(' '),
      TYPED: ['boxfest', ...typed].join(' '),
    },
  });
  expect(out).toContain('<DONE>');
  return [...new Set([...out.matchAll(/<HIT>([^\r\n<]*)/g)].map((m) => m[1]!))];
}

/** fish's own answer (`complete -C`) for the command line typed so far. */
function fishComplete(script: string, machines: string, ...typed: string[]): string[] {
  const file = join(root, 'completion.fish');
  writeFileSync(file, script);
  const probe = `source ${file}
function boxfest; if test "$argv[1] $argv[2]" = "completion machines"; printf '%s\\n' ${quoted(names(machines))}; end; end
complete -C ${quoted([['boxfest', ...typed].join(' ')])}`;
  const out = execFileSync('fish', ['--no-config', '-c', probe], {
    cwd: root,
    encoding: 'utf8',
    env: shellEnv(),
  });
  // Each line is a match, then a tab and its description when it has one.
  return out
    .split('\n')
    .map((l) => l.split('\t')[0]!)
    .filter((l) => l !== '');
}

const SHELL_COMPLETE = { bash: bashComplete, zsh: zshComplete, fish: fishComplete };

/** Typed words (the last one being completed) and what every shell must offer for them. */
const CASES: [string[], string[]][] = [
  [['h'], ['halt']],
  [['s'], ['suspend', 'snapshot', 'status', 'ssh', 'ssh-config']],
  [
    ['up', ''],
    ['web', 'db', 'worker-1'],
  ],
  [
    ['ssh', 'w'],
    ['web', 'worker-1'],
  ],
  [['destroy', '--f'], ['--force']],
  [
    ['up', '--re'],
    ['--reload', '--recreate'],
  ],
  [['box', 'o'], ['outdated']],
  [
    ['completion', ''],
    ['bash', 'zsh', 'fish'],
  ],
  [['validate', ''], []],
];

describe('boxfest completion', () => {
  it('`completion machines` lists the Boxfile’s machines, from a subdirectory too', async () => {
    expect(await boxfest(['completion', 'machines'])).toBe('web\ndb\nworker-1\n');
    expect(await boxfest(['completion', 'machines'], join(root, 'sub'))).toBe('web\ndb\nworker-1\n');
    expect(await boxfest(['completion', 'machines'], tmpdir())).toBe('\n');
  });

  describe.each(['bash', 'zsh', 'fish'] as const)('%s, the real shell', async (shell) => {
    const script = await boxfest(['completion', shell]);
    const machines = await boxfest(['completion', 'machines']);
    it.each(CASES)('%j completes to %j', (typed, want) => {
      // zsh and fish sort what they offer; bash keeps the script's order (cac's).
      const got = SHELL_COMPLETE[shell](script, machines, ...typed);
      expect(shell === 'bash' ? got : [...got].sort()).toEqual(shell === 'bash' ? want : [...want].sort());
    });
  });

  it('the zsh driver sees zsh’s own completion: without boxfest’s script, it offers files', () => {
    expect(zshComplete('autoload -U +X compinit && compinit', 'web', 'Boxf')).toEqual(['Boxfile.yaml']);
  });

  it('zsh and fish scripts name the same commands and ask boxfest for machines', async () => {
    const zsh = await boxfest(['completion', 'zsh']);
    expect(zsh).toContain('bashcompinit');
    expect(zsh).toContain('complete -F _boxfest boxfest');
    const fish = await boxfest(['completion', 'fish']);
    expect(fish).toContain(`complete -c boxfest -n "__fish_use_subcommand" -a 'halt'`);
    expect(fish).toContain(
      'complete -c boxfest -n "__fish_seen_subcommand_from up" -a "(boxfest completion machines 2>/dev/null)"',
    );
    expect(fish).toContain('complete -c boxfest -n "__fish_seen_subcommand_from destroy" -s f');
  });

  it('refuses another shell with a usage error', async () => {
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    expect(await main(['completion', 'tcsh'], root)).not.toBe(0);
    expect(spy.mock.calls.map((c) => String(c[0])).join('')).toMatch(/no completion for `tcsh`/);
  });
});
