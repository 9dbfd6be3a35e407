// Shell completion: the script `boxfest completion bash` prints, loaded into a real bash and
// asked what it completes (`complete -p`, then the completion function with COMP_WORDS set, as
// bash calls it). `boxfest` inside the script is a bash function that answers with what
// `boxfest completion machines` printed for a real Boxfile.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

/** What bash completes for the words typed so far (the last one being completed). */
function complete(script: string, machines: string, ...typed: string[]): string[] {
  const words = ['boxfest', ...typed].map((w) => `'${w}'`).join(' ');
  const names = machines
    .trim()
    .split('\n')
    .map((m) => `'${m}'`)
    .join(' ');
  const probe = `${script}
boxfest() { [ "$1 $2" = "completion machines" ] && printf '%s\\n' ${names}; }
complete -p boxfest
COMP_WORDS=(${words}); COMP_CWORD=${typed.length}
_boxfest
printf '%s\\n' "\${COMPREPLY[@]}"`;
  const out = execFileSync('bash', ['--norc', '--noprofile', '-c', probe], { encoding: 'utf8' }).split('\n');
  expect(out[0]).toBe('complete -F _boxfest boxfest');
  return out.slice(1).filter((l) => l !== '');
}

describe('boxfest completion', () => {
  it('`completion machines` lists the Boxfile’s machines, from a subdirectory too', async () => {
    expect(await boxfest(['completion', 'machines'])).toBe('web\ndb\nworker-1\n');
    expect(await boxfest(['completion', 'machines'], join(root, 'sub'))).toBe('web\ndb\nworker-1\n');
    expect(await boxfest(['completion', 'machines'], tmpdir())).toBe('\n');
  });

  describe('bash', async () => {
    const script = await boxfest(['completion', 'bash']);
    const machines = await boxfest(['completion', 'machines']);
    it.each([
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
    ])('%j completes to %j', (typed, want) => {
      expect(complete(script, machines, ...typed)).toEqual(want);
    });
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
